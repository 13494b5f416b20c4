using DeepExtension.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Work;

/// <summary>
/// Applies <see cref="WorkItem"/> transitions to the database, one context per operation, for any kind of work.
/// The services of each kind (runs, saves, deployments) go through it, so a status moves the same way everywhere.
/// </summary>
public sealed class WorkStore(IDbContextFactory<DeepExtensionDbContext> dbFactory, TimeProvider clock, WorkStateRetry? retry = null)
{
    /// <summary>How a job tries again a state change the database refused (an item's end, its last summary); requests from the UI are not retried.</summary>
    public WorkStateRetry Retry { get; } = retry ?? new WorkStateRetry(WorkStateRetry.DefaultBudget);

    /// <summary>Who owns each item while it runs.</summary>
    public WorkLeaseStore Leases { get; } = new(dbFactory, clock);

    public async Task<TItem?> GetAsync<TItem>(Guid id, CancellationToken cancellationToken = default) where TItem : WorkItem
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Set<TItem>().AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, cancellationToken);
    }

    /// <summary>Marks the item Running for a new attempt. False when it no longer exists or has ended.</summary>
    /// <param name="alsoChange">What the starting job records with the start, in the same save (the node a run is placed on).</param>
    public Task<bool> StartAsync<TItem>(Guid id, CancellationToken cancellationToken = default, Action<TItem, DateTime>? alsoChange = null) where TItem : WorkItem =>
        UpdateAsync<TItem>(id, (item, now) =>
        {
            if (!item.Start(now)) return false;
            alsoChange?.Invoke(item, now);
            return true;
        }, cancellationToken);

    /// <summary>Ends the item. False when it no longer exists or had already ended.</summary>
    public Task<bool> FinishAsync<TItem>(Guid id, WorkStatus outcome, string? failureReason, CancellationToken cancellationToken = default,
        DateTime? finishedAtUtc = null) where TItem : WorkItem =>
        UpdateAsync<TItem>(id, (item, now) => item.Finish(outcome, failureReason, finishedAtUtc ?? now), cancellationToken);

    /// <summary>Puts an item back in the queue; <paramref name="when"/> says from which states (the caller then queues its job).</summary>
    public Task<bool> EnqueueAsync<TItem>(Guid id, Func<TItem, bool> when, CancellationToken cancellationToken = default) where TItem : WorkItem =>
        UpdateAsync<TItem>(id, (item, now) =>
        {
            if (!when(item)) return false;
            item.Enqueue(now);
            return true;
        }, cancellationToken);

    /// <summary>Items that were Queued or Running when the process stopped, oldest first.</summary>
    public async Task<IReadOnlyList<Guid>> UnfinishedIdsAsync<TItem>(CancellationToken cancellationToken = default) where TItem : WorkItem
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Set<TItem>().Where(i => i.Status == WorkStatus.Queued || i.Status == WorkStatus.Running)
            .OrderBy(i => i.CreatedAtUtc).Select(i => i.Id).ToListAsync(cancellationToken);
    }

    /// <summary>Every Queued or Running item, as it is now (the reconciler's view).</summary>
    public async Task<IReadOnlyList<TItem>> UnfinishedAsync<TItem>(CancellationToken cancellationToken = default) where TItem : WorkItem
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Set<TItem>().AsNoTracking().Where(i => i.Status == WorkStatus.Queued || i.Status == WorkStatus.Running)
            .OrderBy(i => i.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    /// <summary>Loads the item, applies <paramref name="change"/> (which says whether it changed anything) and saves.</summary>
    public async Task<bool> UpdateAsync<TItem>(Guid id, Func<TItem, DateTime, bool> change, CancellationToken cancellationToken = default) where TItem : WorkItem
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var item = await db.Set<TItem>().FirstOrDefaultAsync(i => i.Id == id, cancellationToken);
        if (item is null || !change(item, clock.GetUtcNow().UtcDateTime)) return false;
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
