using System.Text.Json;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// Executes one training run: waits for a device slot, runs the worker process, follows its progress into
/// the database, and records the outcome (registering the customized model on success).
/// </summary>
public sealed class TrainingRunJob(
    WorkStore store, TrainingRunService runs, CustomizedModelService customizedModels, WorkerLauncher launcher, RunSlots slots, ILogger<TrainingRunJob> logger)
    : WorkJob<TrainingRun>(store, logger)
{
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    protected override async Task<IDisposable?> WaitForTurnAsync(TrainingRun run, CancellationToken cancellationToken) =>
        await slots.AcquireAsync(run.Device, cancellationToken);

    protected override async Task<bool> ReadyToStartAsync(TrainingRun run)
    {
        if (!runs.FilesOf(run).CancelRequested) return true;
        await CancelAsync(run.Id);
        return false;
    }

    protected override async Task RunAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        var runId = run.Id;
        var files = runs.FilesOf(run);
        using var following = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var follow = FollowProgressAsync(runId, files, following.Token);
        var exit = await RunWorkerAsync(launcher, runId, ["train", "--run", runId.ToString()], files.Log, cancellationToken,
            beforeFailing: () => following.CancelAsync());
        if (exit is null) return;
        await following.CancelAsync();
        await follow;
        await CopyProgressAsync(runId, files, CancellationToken.None);

        if (exit.Interrupted)
        {
            // The console is stopping; the run stays Running and is resumed from its checkpoint at the next start.
            Logger.LogInformation("Run {RunId} interrupted by shutdown; it resumes at the next start", runId);
            return;
        }
        switch (exit.ExitCode)
        {
            case WorkerExit.Succeeded when Directory.Exists(files.AdapterDirectory):
                // The customized model exists before the run reads Succeeded, so whoever sees one sees both.
                var finished = DateTime.UtcNow;
                try
                {
                    await customizedModels.RegisterAsync(runId, files.AdapterDirectory, finished, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    await FailAsync(runId, $"Training finished but the adapter could not be registered: {ex.Message}");
                    break;
                }
                await SucceedAsync(runId, finished);
                break;
            case WorkerExit.Succeeded:
                await FailAsync(runId, WorkerExit.MissingOutput("adapter"));
                break;
            case WorkerExit.Cancelled:
                await CancelAsync(runId);
                break;
            default:
                await FailAsync(runId, exit.FailureReason);
                break;
        }
    }

    private async Task FollowProgressAsync(Guid runId, RunFiles files, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ProgressInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await CopyProgressAsync(runId, files, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CopyProgressAsync(Guid runId, RunFiles files, CancellationToken cancellationToken)
    {
        if (!File.Exists(files.ProgressPath)) return;
        try
        {
            var progress = JsonSerializer.Deserialize<RunProgress>(await File.ReadAllTextAsync(files.ProgressPath, cancellationToken));
            if (progress is not null) await runs.UpdateProgressAsync(runId, progress, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            // progress.json is replaced atomically; a failed read just waits for the next tick.
        }
    }
}
