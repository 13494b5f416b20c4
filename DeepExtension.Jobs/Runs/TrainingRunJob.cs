using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// Executes one training run: takes a device slot (or is fired again later), runs the worker process, keeps the run's summary columns
/// equal to what its metric points say (watching them through the process's <see cref="LiveRunStore"/>, the same
/// reader the pages share; on a worker node the same lines go to the console as they are written, see <see cref="ConsoleFeed"/>),
/// and records the outcome (registering the customized model on success).
/// </summary>
public sealed class TrainingRunJob(
    WorkStore store, TrainingRunService runs, CustomizedModelService customizedModels, WorkerLauncher launcher, RunSlots slots, LiveRunStore live,
    NodeDevices devices, NodeIdentity node, ConsoleFeed feed, WorkLimits limits, ILogger<TrainingRunJob> logger)
    : WorkJob<TrainingRun>(store, logger, limits)
{
    // The device of this node the run was given a slot of; null where runs are not routed (one machine).
    private string? _device;

    // Queue order: a run never takes a device that a run queued before it is waiting for, whichever job fires first.
    protected override async Task<bool> IsNextInLineAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        var mine = DevicesFor(run.Device);
        var ahead = await runs.DevicesAskedAheadOfAsync(run, cancellationToken);
        return !ahead.Any(device => DevicesFor(device).Overlaps(mine));
    }

    /// <summary>The device slots of this node a run asking for <paramref name="requested"/> could take.</summary>
    private HashSet<string> DevicesFor(string requested) =>
        devices.Routes ? NodeDevices.Candidates(requested, devices.Offered).ToHashSet(StringComparer.Ordinal) : [RunSlots.SlotOf(requested)];

    protected override bool TryTakeTurn(TrainingRun run, out IDisposable? turn)
    {
        if (!devices.Routes) return (turn = slots.TryAcquire(run.Device)) is not null;
        // Several nodes: only a device of the kind the run asks for, free on this node; otherwise another node (or this
        // one later) takes it, since the job is fired again.
        foreach (var device in NodeDevices.Candidates(run.Device, devices.Offered))
        {
            if ((turn = slots.TryAcquireExactly(device)) is null) continue;
            _device = device;
            return true;
        }
        turn = null;
        return false;
    }

    protected override void OnStarting(TrainingRun run, DateTime nowUtc) =>
        run.PlaceOn(Context.Scheduler.SchedulerInstanceId, node.Name, _device, nowUtc);

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
        WorkerExit? exit;
        LiveRunSubscription? watching = null;
        // Disposed once the worker exited: the feed then sends the run's last lines and lets it go.
        using var feeding = feed.Feed(runId, files);
        using (watching = live.Subscribe(files, () => watching is null ? Task.CompletedTask : CopySummaryAsync(runId, watching.Run.Summary, cancellationToken)))
        {
            exit = await RunWorkerAsync(launcher, runId, ["train", "--run", runId.ToString()], files.Log, cancellationToken,
                environment: _device is null ? null : new Dictionary<string, string> { [WorkerLauncher.DeviceVariable] = _device });
        }
        if (exit is null) return;
        // A worker that lost the lease while this job still holds it (the database out of reach for too long) failed like any other.
        if (!OwnsItem)
        {
            // Another process owns the run (an orphaned worker still checkpointing, another node): it records what happens.
            Logger.LogWarning("Run {RunId}: owned by another process now; this job records nothing", runId);
            return;
        }
        // The worker is gone: every point is on disk. The summary of the whole file is what the run reached, written
        // before the run reads finished (and before its model card copies it).
        var summary = MetricsFile.ReadHistory(files).Summary;
        try
        {
            await RetryingAsync($"Run {runId}'s summary", token => runs.UpdateSummaryAsync(runId, summary, token));
        }
        catch (WorkStateException ex)
        {
            Logger.LogError(ex, "Run {RunId}: its last summary could not be written", runId);
        }

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
                    await RetryingAsync($"Run {runId}'s customized model", token => customizedModels.RegisterAsync(runId, files.AdapterDirectory, finished, token));
                }
                catch (WorkStateException ex)
                {
                    // The database refused for the whole retry budget: the run stays as it is for the reconciler (which
                    // requeues it from its checkpoint), rather than failing a train that finished.
                    Logger.LogError(ex, "Run {RunId}: finished, but its customized model could not be registered yet", runId);
                    break;
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

    private async Task CopySummaryAsync(Guid runId, RunSummary summary, CancellationToken cancellationToken)
    {
        try
        {
            await runs.UpdateSummaryAsync(runId, summary, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
