using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Lora;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// Finds work the console lost track of: items still Queued or Running with no job in the queue and no unexpired lease
/// (a job whose last state change the database refused for the whole retry budget, a job that failed to fire again
/// during an outage). Such an item is acted on only when two looks in a row found it so, unchanged, so an item being
/// queued or finishing between two statements is never touched. Then: a cancel asked for ends it Cancelled; a train
/// whose worker finished (its adapter complete and every step recorded) is registered and Succeeded; a train with a
/// checkpoint, a deployment and a Hub download are queued again (they resume); anything else is Failed with a reason
/// the UI shows ("The console lost track of this …"), from which Resume works as after any failure.
/// </summary>
public sealed class WorkReconciler(
    WorkStore store, IWorkQueue queue, TrainingRunService runs, CustomizedModelService customizedModels, IConfiguration configuration,
    TimeProvider clock, ILogger<WorkReconciler> logger) : BackgroundService
{
    public const string IntervalSecondsKey = "DeepExtension:Work:ReconcileSeconds";
    public const string LostTrack = "The console lost track of this";

    private readonly Dictionary<(WorkKind Kind, Guid Id), (WorkStatus Status, int Attempts)> _suspects = [];
    private readonly SemaphoreSlim _once = new(1, 1);

    /// <summary>How often it looks (an orphan is acted on at the second look).</summary>
    public TimeSpan Interval { get; } = TimeSpan.FromSeconds(Math.Clamp(configuration.GetValue(IntervalSecondsKey, 30.0), 0.5, 3600));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReconcileOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The database or the job store still refusing: the next look tries again.
                logger.LogWarning(ex, "Reconciling work failed; trying again in {Interval}", Interval);
            }
        }
    }

    /// <summary>One look at every kind; returns how many items it acted on.</summary>
    public async Task<int> ReconcileOnceAsync(CancellationToken cancellationToken = default)
    {
        await _once.WaitAsync(cancellationToken);
        try
        {
            var orphans = new HashSet<(WorkKind, Guid)>();
            var acted = await ReconcileAsync<TrainingRun>(WorkKind.Train, orphans, cancellationToken)
                + await ReconcileAsync<ModelSave>(WorkKind.Save, orphans, cancellationToken)
                + await ReconcileAsync<ModelDeployment>(WorkKind.Deploy, orphans, cancellationToken)
                + await ReconcileAsync<HubDownload>(WorkKind.Download, orphans, cancellationToken)
                + await ReconcileAsync<Evaluation>(WorkKind.Evaluate, orphans, cancellationToken);
            foreach (var gone in _suspects.Keys.Where(k => !orphans.Contains(k)).ToList()) _suspects.Remove(gone);
            return acted;
        }
        finally
        {
            _once.Release();
        }
    }

    private async Task<int> ReconcileAsync<TItem>(WorkKind kind, HashSet<(WorkKind, Guid)> orphans, CancellationToken cancellationToken)
        where TItem : WorkItem
    {
        var acted = 0;
        foreach (var item in await store.UnfinishedAsync<TItem>(cancellationToken))
        {
            if (!await IsOrphanedAsync(kind, item.Id, cancellationToken)) continue;
            var key = (kind, item.Id);
            orphans.Add(key);
            var now = (item.Status, item.Attempts);
            if (!_suspects.TryGetValue(key, out var before) || before != now)
            {
                _suspects[key] = now;
                continue;
            }
            _suspects.Remove(key);
            await RecoverAsync(kind, item, cancellationToken);
            acted++;
        }
        return acted;
    }

    /// <summary>No job in the queue (waiting or executing) and nobody holding its lease.</summary>
    private async Task<bool> IsOrphanedAsync(WorkKind kind, Guid id, CancellationToken cancellationToken)
    {
        if (await queue.ContainsAsync(kind, id, cancellationToken)) return false;
        var lease = await store.Leases.GetAsync(kind, id, cancellationToken);
        return lease is null || !lease.IsHeldAt(clock.GetUtcNow().UtcDateTime);
    }

    private async Task RecoverAsync<TItem>(WorkKind kind, TItem item, CancellationToken cancellationToken) where TItem : WorkItem
    {
        var noun = NounOf(kind);
        var lost = $"{LostTrack} {noun}: it was {item.Status} with no job left to run it";
        if (item is TrainingRun run)
        {
            await RecoverRunAsync(run, lost, cancellationToken);
            return;
        }
        if (kind is WorkKind.Deploy or WorkKind.Download)
        {
            logger.LogWarning("{Lost}; {Kind} {Id} is queued again", lost, kind, item.Id);
            await RequeueAsync<TItem>(kind, item.Id, cancellationToken);
            return;
        }
        await FailAsync<TItem>(item.Id, $"{lost}. Start it again.", cancellationToken);
    }

    private async Task RecoverRunAsync(TrainingRun run, string lost, CancellationToken cancellationToken)
    {
        var files = runs.FilesOf(run);
        if (files.CancelRequested)
        {
            files.Log.Append(RunLogLevel.Warning, $"{lost}; its cancel had been asked for, so it ends Cancelled.");
            await store.FinishAsync<TrainingRun>(run.Id, WorkStatus.Cancelled, null, cancellationToken);
            return;
        }
        var summary = MetricsFile.ReadHistory(files).Summary;
        if (WorkerFinished(files, summary))
        {
            // The worker wrote its adapter after its last step; only the console's record of it was lost.
            files.Log.Append(RunLogLevel.Warning, $"{lost}; its worker had finished and written the adapter, so the outcome is recorded now.");
            await runs.UpdateSummaryAsync(run.Id, summary, cancellationToken);
            var finished = DateTime.UtcNow;
            await customizedModels.RegisterAsync(run.Id, files.AdapterDirectory, finished, cancellationToken);
            await store.FinishAsync<TrainingRun>(run.Id, WorkStatus.Succeeded, null, cancellationToken, finished);
            logger.LogWarning("Run {RunId}: {Lost}; its worker had finished, recorded Succeeded", run.Id, lost);
            return;
        }
        if (HasCheckpoint(files))
        {
            files.Log.Append(RunLogLevel.Warning, $"{lost}; it is queued again and resumes from its last checkpoint.");
            logger.LogWarning("Run {RunId}: {Lost}; queued again", run.Id, lost);
            await RequeueAsync<TrainingRun>(WorkKind.Train, run.Id, cancellationToken);
            return;
        }
        files.Log.Append(RunLogLevel.Error, $"{lost}, and it has no checkpoint to resume from.");
        await FailAsync<TrainingRun>(run.Id, $"{lost}, and it has no checkpoint to resume from. Resume starts it again.", cancellationToken);
    }

    private static bool WorkerFinished(RunFiles files, RunSummary summary) =>
        File.Exists(Path.Combine(files.AdapterDirectory, PeftAdapter.ConfigFile))
        && File.Exists(Path.Combine(files.AdapterDirectory, PeftAdapter.WeightsFile))
        && summary.TotalSteps > 0 && summary.Step >= summary.TotalSteps;

    private static bool HasCheckpoint(RunFiles files) =>
        Directory.Exists(files.CheckpointsDirectory)
        && Directory.EnumerateDirectories(files.CheckpointsDirectory).Any(d => !d.EndsWith(".partial", StringComparison.Ordinal));

    private async Task RequeueAsync<TItem>(WorkKind kind, Guid id, CancellationToken cancellationToken) where TItem : WorkItem
    {
        if (await store.EnqueueAsync<TItem>(id, item => !item.IsFinished, cancellationToken))
        {
            await queue.EnqueueAsync(kind, id, cancellationToken);
        }
    }

    private async Task FailAsync<TItem>(Guid id, string reason, CancellationToken cancellationToken) where TItem : WorkItem
    {
        logger.LogWarning("{Kind} {Id} failed: {Reason}", typeof(TItem).Name, id, reason);
        await store.FinishAsync<TItem>(id, WorkStatus.Failed, reason, cancellationToken);
    }

    private static string NounOf(WorkKind kind) => kind switch
    {
        WorkKind.Train => "train",
        WorkKind.Save => "save",
        WorkKind.Deploy => "deployment",
        WorkKind.Download => "download",
        WorkKind.Evaluate => "evaluation",
        _ => "work",
    };
}
