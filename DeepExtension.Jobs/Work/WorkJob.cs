using DeepExtension.Core.Work;
using Microsoft.Extensions.Logging;
using Quartz;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// What every background job does around its own work: find the item its Quartz job is for, skip it when it is gone or
/// has ended, take its turn (a place within its kind's limit, a device slot for a run), mark it Running (one more
/// attempt), do the work, and end it with an outcome. An item that cannot have its turn now is not waited for on the
/// scheduler's thread: its job is fired again later and the item stays Queued. A job interrupted by a console stop
/// leaves its item as the kind decides (runs and deployments are queued again on the next start, see
/// <see cref="Scheduling.InterruptedWorkRecovery"/>).
/// </summary>
/// <param name="limits">The kinds' concurrency limits; null: none but the item's own turn.</param>
public abstract class WorkJob<TItem>(WorkStore store, ILogger logger, WorkLimits? limits = null) : IJob where TItem : WorkItem
{
    protected WorkStore Store => store;
    protected ILogger Logger => logger;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        Context = context;
        var id = QuartzWorkQueue.IdOf(context);
        var item = await store.GetAsync<TItem>(id, cancellationToken);
        if (item is null || item.IsFinished) return;

        using var place = limits?.TryEnter(item.Kind);
        if (limits is not null && place is null)
        {
            await RetryLaterAsync(context, item);
            return;
        }
        // Exclusive ownership first: while another process (an orphaned worker, another node) holds the item's lease,
        // nothing here starts it, takes a device slot for it or writes its state.
        var duration = limits?.LeaseDuration ?? TimeSpan.FromSeconds(30);
        var lease = await store.Leases.TryAcquireAsync(item.Kind, id, WorkLeaseStore.OwnerOf("console"), duration, cancellationToken);
        if (lease is null)
        {
            logger.LogInformation("{Kind} {Id} is owned by another process; trying again later", item.Kind, id);
            await RetryLaterAsync(context, item);
            return;
        }
        await using (_heartbeat = new WorkLeaseHeartbeat(store.Leases, lease, duration))
        {
            try
            {
                if (!await IsNextInLineAsync(item, cancellationToken) || !TryTakeTurn(item, out var turn))
                {
                    await RetryLaterAsync(context, item);
                    return;
                }
                using (turn)
                {
                    if (!await ReadyToStartAsync(item)) return;
                    if (!await store.StartAsync<TItem>(id, cancellationToken, OnStarting)) return;
                    logger.LogInformation("{Kind} {Id} starts (lease token {Token})", item.Kind, id, lease.Token);
                    await RunAsync(item, cancellationToken);
                }
            }
            finally
            {
                await ReleaseLeaseAsync(_heartbeat.Lease);
            }
        }
    }

    private WorkLeaseHeartbeat? _heartbeat;

    /// <summary>The firing being executed (its scheduler is this node's).</summary>
    protected IJobExecutionContext Context { get; private set; } = null!;

    /// <summary>What the kind records with the start of an attempt, in the same save as the Running status.</summary>
    protected virtual void OnStarting(TItem item, DateTime nowUtc)
    {
    }

    /// <summary>Whether this job still owns its item (no lease yet counts as owning: nothing else can have started it).</summary>
    protected bool OwnsItem => _heartbeat is null || _heartbeat.IsHeld;

    private async Task ReleaseLeaseAsync(WorkLeaseGrant lease)
    {
        try
        {
            await store.Leases.ReleaseAsync(lease, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // It runs out by itself.
            logger.LogWarning(ex, "The lease of {Kind} {Id} could not be released; it expires at {Expiry:u}", lease.Kind, lease.ItemId, lease.ExpiresAtUtc);
        }
    }

    /// <summary>Whether no item queued before this one waits for the same turn (false: the job is fired again later).</summary>
    protected virtual Task<bool> IsNextInLineAsync(TItem item, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>
    /// Whether the item may run now (a device slot for a run), without waiting; <paramref name="turn"/> is held while it
    /// runs. False: the job is fired again later.
    /// </summary>
    protected virtual bool TryTakeTurn(TItem item, out IDisposable? turn)
    {
        turn = null;
        return true;
    }

    private async Task RetryLaterAsync(IJobExecutionContext context, TItem item)
    {
        var delay = limits?.RetryDelay ?? TimeSpan.FromSeconds(5);
        logger.LogDebug("{Kind} {Id} cannot start yet; trying again in {Delay}", item.Kind, item.Id, delay);
        await QuartzWorkQueue.FireAgainAsync(context, delay);
    }

    /// <summary>A last check before the item is marked Running; false when the job ended it itself.</summary>
    protected virtual Task<bool> ReadyToStartAsync(TItem item) => Task.FromResult(true);

    /// <summary>The kind's own work, with the item marked Running.</summary>
    protected abstract Task RunAsync(TItem item, CancellationToken cancellationToken);

    protected Task SucceedAsync(Guid id, DateTime? finishedAtUtc = null) =>
        FinishAsync(id, WorkStatus.Succeeded, null, finishedAtUtc);

    protected Task CancelAsync(Guid id) => FinishAsync(id, WorkStatus.Cancelled, null);

    /// <summary>Ends the item, unless this job lost its lease (then its new owner decides).</summary>
    private async Task FinishAsync(Guid id, WorkStatus outcome, string? reason, DateTime? finishedAtUtc = null)
    {
        if (!OwnsItem)
        {
            logger.LogWarning("{Kind} {Id}: this job lost its lease; it does not record {Outcome}", typeof(TItem).Name, id, outcome);
            return;
        }
        try
        {
            await store.Retry.ExecuteAsync($"{typeof(TItem).Name} {id} ending {outcome}",
                token => store.FinishAsync<TItem>(id, outcome, reason, token, finishedAtUtc));
        }
        catch (WorkStateException ex)
        {
            // Left as it is (Running); the reconciler finds it once this job and its lease are gone.
            logger.LogError(ex, "{Kind} {Id}: the outcome {Outcome} could not be recorded; the reconciler will requeue or fail it", typeof(TItem).Name, id, outcome);
        }
    }

    /// <summary>A write the job's outcome depends on (its summary, its output's registration), retried like the outcome.</summary>
    protected Task RetryingAsync(string what, Func<CancellationToken, Task> write) => store.Retry.ExecuteAsync(what, write);

    protected async Task FailAsync(Guid id, string reason)
    {
        await FinishAsync(id, WorkStatus.Failed, reason);
        logger.LogWarning("{Kind} {Id} failed: {Reason}", typeof(TItem).Name, id, reason);
    }

    /// <summary><paramref name="log"/> with its lines stamped with this job's lease token (see <see cref="WorkLog.LeaseToken"/>).</summary>
    protected WorkLog Fenced(WorkLog log) => _heartbeat is { } heartbeat ? log.WithLeaseToken(heartbeat.Lease.Token) : log;

    /// <summary>Runs a worker process; null (and the item Failed) when it could not even be started.</summary>
    protected async Task<WorkerExit?> RunWorkerAsync(WorkerLauncher launcher, Guid id, IReadOnlyList<string> arguments, WorkLog log,
        CancellationToken cancellationToken, Func<Task>? beforeFailing = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        try
        {
            return await launcher.RunAsync(arguments, log, cancellationToken, _heartbeat?.Lease, environment);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (beforeFailing is not null) await beforeFailing();
            await FailAsync(id, WorkerExit.NotStarted(ex));
            return null;
        }
    }
}
