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
        var id = QuartzWorkQueue.IdOf(context);
        var item = await store.GetAsync<TItem>(id, cancellationToken);
        if (item is null || item.IsFinished) return;

        using var place = limits?.TryEnter(item.Kind);
        IDisposable? turn = null;
        if ((limits is not null && place is null) || !TryTakeTurn(item, out turn))
        {
            await RetryLaterAsync(context, item);
            return;
        }
        using (turn)
        {
            if (!await ReadyToStartAsync(item)) return;
            if (!await store.StartAsync<TItem>(id, cancellationToken)) return;
            logger.LogInformation("{Kind} {Id} starts", item.Kind, id);
            await RunAsync(item, cancellationToken);
        }
    }

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
        store.FinishAsync<TItem>(id, WorkStatus.Succeeded, null, CancellationToken.None, finishedAtUtc);

    protected Task CancelAsync(Guid id) => store.FinishAsync<TItem>(id, WorkStatus.Cancelled, null, CancellationToken.None);

    protected async Task FailAsync(Guid id, string reason)
    {
        await store.FinishAsync<TItem>(id, WorkStatus.Failed, reason, CancellationToken.None);
        logger.LogWarning("{Kind} {Id} failed: {Reason}", typeof(TItem).Name, id, reason);
    }

    /// <summary>Runs a worker process; null (and the item Failed) when it could not even be started.</summary>
    protected async Task<WorkerExit?> RunWorkerAsync(WorkerLauncher launcher, Guid id, IReadOnlyList<string> arguments, WorkLog log,
        CancellationToken cancellationToken, Func<Task>? beforeFailing = null)
    {
        try
        {
            return await launcher.RunAsync(arguments, log, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (beforeFailing is not null) await beforeFailing();
            await FailAsync(id, WorkerExit.NotStarted(ex));
            return null;
        }
    }
}
