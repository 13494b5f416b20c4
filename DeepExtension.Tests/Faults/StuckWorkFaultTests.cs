using System.Text.Json.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, fault 2: the database refusing writes (its file made immutable) while a train finished left the run
/// Running for good, its job gone. Reproduced with the console's scheduler (Quartz, SQLite store) and a real worker.
/// </summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class StuckWorkFaultTests
{
    // 40 steps, a checkpoint every 5.
    private static JsonObject TinyTrain() => new()
    {
        ["num_epochs"] = 8, ["batch_size"] = 4, ["learning_rate"] = 5e-3, ["warmup_ratio"] = 0.0, ["lr_scheduler"] = "constant",
        ["max_tokens"] = 64, ["lora_r"] = 8, ["lora_alpha"] = 16, ["lora_dropout"] = 0.0, ["save_every"] = 5, ["save_unit"] = "steps",
    };

    [Fact]
    public async Task FinishingTrain_DatabaseUnwritableForSeconds_TheEndIsRetriedAndTheRunSucceeds()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);
        var started = await host.Runs.StartAsync(new NewTrainRequest("outage", model.Id, version.Id, method.Id, TinyTrain(), "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);

        var (runningAtRestore, refusal) = await OutageAcrossTheEndAsync(env, host, started.Value!.Id, holdAfterFinish: TimeSpan.FromSeconds(8));

        Assert.Equal(WorkStatus.Running, runningAtRestore.Status); // The job could not record the end while the file was immutable.
        Assert.Contains("readonly", refusal);
        var run = await host.WaitForAsync(started.Value.Id, r => r.IsFinished, TimeSpan.FromMinutes(2));
        Assert.True(run.Status == WorkStatus.Succeeded, $"{run.Status}: {run.FailureReason}");
        Assert.Equal(40, run.Step);
        Assert.Equal(1, run.Attempts);
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(run.Id));
    }

    [Fact]
    public async Task FinishingTrain_DatabaseUnwritableLongerThanTheRetryBudget_IsReconciledAndNeverStaysRunning()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env, new Dictionary<string, string?>
        {
            [WorkStateRetry.SecondsKey] = "2",
            [WorkLimits.LeaseSecondsKey] = "6",
            [WorkReconciler.IntervalSecondsKey] = "1",
        });
        var started = await host.Runs.StartAsync(new NewTrainRequest("long-outage", model.Id, version.Id, method.Id, TinyTrain(), "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);

        var (runningAtRestore, _) = await OutageAcrossTheEndAsync(env, host, started.Value!.Id, holdAfterFinish: TimeSpan.FromSeconds(10));

        Assert.Equal(WorkStatus.Running, runningAtRestore.Status);
        // The job gave up after its 2 s budget; the reconciler finds the run once the job and its lease are gone: its
        // worker had finished, so the outcome is recorded with what the files say.
        var run = await host.WaitForAsync(started.Value.Id, r => r.IsFinished, TimeSpan.FromMinutes(2));
        var log = File.ReadAllText(host.Runs.FilesOf(run).LogPath);
        Assert.True(run.Status == WorkStatus.Succeeded, $"{run.Status}: {run.FailureReason}\n{log}");
        Assert.Contains(WorkReconciler.LostTrack + " train", log);
        Assert.Equal(40, run.Step);
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(run.Id));
    }

    [Fact]
    public async Task RunLeftRunningWithoutAJob_IsFailedWithAReasonThenResumesAndCancels()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        // No scheduler: the queue holds jobs that nothing fires, so the test decides when a job is gone.
        await using var host = await TrainingHost.StartAsync(env, new Dictionary<string, string?> { ["DeepExtension:Scheduler:Enabled"] = "false" });
        var queue = host.Host.Services.GetRequiredService<IWorkQueue>();
        var store = host.Host.Services.GetRequiredService<WorkStore>();
        var reconciler = ActivatorUtilities.CreateInstance<WorkReconciler>(host.Host.Services);
        var started = await host.Runs.StartAsync(new NewTrainRequest("orphan", model.Id, version.Id, method.Id, TinyTrain(), "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var id = started.Value!.Id;

        // Queued with its job: not touched, however often it looks.
        Assert.Equal(0, await reconciler.ReconcileOnceAsync());
        Assert.Equal(0, await reconciler.ReconcileOnceAsync());
        // A job that started it and vanished without recording an outcome.
        Assert.True(await store.StartAsync<TrainingRun>(id));
        Assert.True(await queue.RemoveAsync(WorkKind.Train, id, CancellationToken.None));

        Assert.Equal(0, await reconciler.ReconcileOnceAsync()); // The first look only notes it.
        Assert.Equal(1, await reconciler.ReconcileOnceAsync());

        var failed = (await host.Runs.GetAsync(id))!;
        Assert.Equal(WorkStatus.Failed, failed.Status);
        Assert.StartsWith("The console lost track of this train: it was Running with no job left to run it, and it has no checkpoint", failed.FailureReason);
        var resumed = await host.Runs.ResumeAsync(id);
        Assert.True(resumed.Succeeded, resumed.AllErrors);
        Assert.True(await queue.ContainsAsync(WorkKind.Train, id, CancellationToken.None));

        // Stuck again (Running, no job, no lease): Cancel ends it at once, as no worker would read the request.
        Assert.True(await store.StartAsync<TrainingRun>(id));
        Assert.True(await queue.RemoveAsync(WorkKind.Train, id, CancellationToken.None));
        var cancelled = await host.Runs.CancelAsync(id);
        Assert.True(cancelled.Succeeded, cancelled.AllErrors);
        Assert.Equal(WorkStatus.Cancelled, cancelled.Value!.Status);
    }

    /// <summary>
    /// Makes the database immutable near the end of the train, keeps it so until the worker has written its adapter and
    /// for <paramref name="holdAfterFinish"/> after, and restores it; returns the run as it was just before the restore
    /// and why the database refused a write meanwhile.
    /// </summary>
    private static async Task<(TrainingRun Run, string Refusal)> OutageAcrossTheEndAsync(TestEnvironment env, TrainingHost host, Guid runId, TimeSpan holdAfterFinish)
    {
        var run = await host.WaitForAsync(runId, r => r.Status == WorkStatus.Running, TimeSpan.FromMinutes(1));
        var files = host.Runs.FilesOf(run);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        // Well before the last step (40): on a loaded machine the last steps, the worker's exit and the job's write of the
        // end can all happen between two polls, and the outage would then begin after the end it must cover.
        while (RunSummary.Of(MetricsFile.ReadAll(files)).Step < 28)
        {
            Assert.True(DateTime.UtcNow < deadline, "The train did not reach step 28 in 3 minutes.");
            await Task.Delay(50);
        }
        using var outage = UnwritableDatabase.Make(env.Directories.DefaultSqliteFile);
        var refusal = await env.Database.ProbeWriteAsync() ?? "(accepted)";
        while (!File.Exists(files.LogPath) || !File.ReadAllText(files.LogPath).Contains("Training finished after"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"The worker did not finish in 3 minutes. Log:\n{(File.Exists(files.LogPath) ? File.ReadAllText(files.LogPath) : "")}");
            await Task.Delay(100);
        }
        await Task.Delay(holdAfterFinish);
        var before = (await host.Runs.GetAsync(runId))!;
        outage.Restore();
        return (before, refusal);
    }
}
