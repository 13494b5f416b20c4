using System.Runtime.InteropServices;
using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Runs.Training;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// <c>DeepExtension.Jobs train --run ID</c>: the worker process of one training run. Exit codes are
/// <see cref="WorkerExit"/>'s; SIGTERM makes it checkpoint and exit (it resumes later).
/// </summary>
public static class TrainCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var runArgument = Array.IndexOf(args, "--run");
        if (runArgument < 0 || runArgument + 1 >= args.Length || !Guid.TryParse(args[runArgument + 1], out var runId))
        {
            await Console.Error.WriteLineAsync("usage: DeepExtension.Jobs train --run RUN_ID");
            return WorkerExit.Usage;
        }

        var interrupted = false;
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true; // Keep running until the next step boundary, then checkpoint and exit.
            interrupted = true;
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            interrupted = true;
        });

        var builder = Host.CreateApplicationBuilder(args.Where((_, i) => i != runArgument && i != runArgument + 1).ToArray());
        builder.Configuration[JobsHostingExtensions.SchedulerEnabledKey] = "false";
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        using var host = builder.Build();
        var runs = host.Services.GetRequiredService<TrainingRunService>();
        var baseModels = host.Services.GetRequiredService<BaseModelService>();
        var datasets = host.Services.GetRequiredService<DatasetService>();

        var run = await runs.GetAsync(runId);
        if (run is null)
        {
            await Console.Error.WriteLineAsync($"Run {runId} does not exist.");
            return WorkerExit.Failed;
        }
        var files = runs.FilesOf(run);

        // One worker per run (see WorkerOwnership); tied to the console that started it: when that is gone, checkpoint at
        // the next step and exit (a restarted console adopts the run once this worker has released its lease).
        RunRecorder? recorder = null;
        var orphaned = false;
        await using var ownership = await WorkerOwnership.TakeAsync(host.Services, WorkKind.Train, runId, $"Run {runId}", onParentGone: () =>
        {
            recorder?.Log(RunLogLevel.Warning, "The console that started this worker is gone: checkpointing and stopping; the run continues when a console adopts it.");
            orphaned = true;
        });
        if (ownership is null) return WorkerExit.LeaseLost;
        recorder = new RunRecorder(files, () => ownership.IsHeld, ownership.Lease.Token);
        try
        {
            var baseModel = await baseModels.GetAsync(run.BaseModelId) ?? throw new InvalidOperationException("The run's base model is no longer registered.");
            var version = await datasets.GetVersionAsync(run.DatasetVersionId) ?? throw new InvalidOperationException("The run's dataset version no longer exists.");
            // The device the node gave the run a slot of (several nodes), else the run's own request.
            var device = Environment.GetEnvironmentVariable(WorkerLauncher.DeviceVariable) is { Length: > 0 } placed ? placed : run.Device;
            var used = TorchRuntime.NameOf(TorchRuntime.DeviceFor(device));
            if (ownership.IsHeld) await runs.RecordDeviceAsync(runId, used);
            var trainer = new RunTrainer(run, baseModels.FolderOf(baseModel), version, datasets, files, recorder, () => interrupted || orphaned, device);
            return await trainer.RunAsync(CancellationToken.None) switch
            {
                TrainingOutcome.Completed => WorkerExit.Succeeded,
                TrainingOutcome.Cancelled => WorkerExit.Cancelled,
                _ => WorkerExit.Stopped,
            };
        }
        catch (Exception ex)
        {
            recorder.Log(RunLogLevel.Error, $"Training failed: {ex.Message}");
            recorder.Log(RunLogLevel.Debug, ex.ToString());
            await Console.Error.WriteLineAsync(ex.Message);
            return WorkerExit.Failed;
        }
    }
}
