using DeepExtension.Core.Work;
using Microsoft.Extensions.Logging;
using Quartz;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// What every background job does around its own work: find the item its Quartz job is for, skip it when it is gone or
/// has ended, wait for its turn, mark it Running (one more attempt), do the work, and end it with an outcome. A job
/// interrupted by a console stop leaves its item as the kind decides (runs and deployments are queued again on the
/// next start, see <see cref="Scheduling.InterruptedWorkRecovery"/>).
/// </summary>
public abstract class WorkJob<TItem>(WorkStore store, ILogger logger) : IJob where TItem : WorkItem
{
    protected WorkStore Store => store;
    protected ILogger Logger => logger;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var id = QuartzWorkQueue.IdOf(context);
        var item = await store.GetAsync<TItem>(id, cancellationToken);
        if (item is null || item.IsFinished) return;

        IDisposable? turn;
        try
        {
            turn = await WaitForTurnAsync(item, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return; // Shutting down while queued: the item is still Queued and is queued again at the next start.
        }
        using (turn)
        {
            if (!await ReadyToStartAsync(item)) return;
            if (!await store.StartAsync<TItem>(id, cancellationToken)) return;
            logger.LogInformation("{Kind} {Id} starts", item.Kind, id);
            await RunAsync(item, cancellationToken);
        }
    }

    /// <summary>Waits until the item may run (a device slot for a run); the returned handle is held while it runs.</summary>
    protected virtual Task<IDisposable?> WaitForTurnAsync(TItem item, CancellationToken cancellationToken) => Task.FromResult<IDisposable?>(null);

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
