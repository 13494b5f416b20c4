using DeepExtension.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Work;

/// <summary>
/// Who owns a work item now: one row per item (its kind and id), holding the owner (a process on a machine), a fencing
/// token that grows at every acquisition, and an expiry that the owner's heartbeats push forward. Whoever holds the
/// newest token before its expiry is the only one that may run the item and write its state and files; an older token
/// is refused everywhere. An expired lease may be taken by anyone (its token then grows), so a dead owner's work is
/// adopted once its lease runs out, and never while it still renews. Nothing here is local to one machine: the
/// database is the referee, and an owner stops before its own expiry (see <see cref="WorkLeaseStore"/>).
/// </summary>
public sealed class WorkLease
{
    public WorkKind Kind { get; set; }
    public Guid ItemId { get; set; }
    /// <summary>The holder (<see cref="WorkLeaseStore.OwnerOf"/>), kept after a release to say who last had it.</summary>
    public string Owner { get; set; } = "";
    /// <summary>The fencing token: 1 at the first acquisition, one more at each acquisition after it.</summary>
    public long Token { get; set; }
    public DateTime AcquiredAtUtc { get; set; }
    /// <summary>Held until then; a release sets it to the time of release.</summary>
    public DateTime ExpiresAtUtc { get; set; }

    public bool IsHeldAt(DateTime nowUtc) => ExpiresAtUtc > nowUtc;
}

/// <summary>A lease as its holder knows it: the token it must show to renew, release or write.</summary>
public sealed record WorkLeaseGrant(WorkKind Kind, Guid ItemId, string Owner, long Token, DateTime ExpiresAtUtc);

/// <summary>Acquires, renews and releases <see cref="WorkLease"/>s; every change is one conditional statement on the token.</summary>
public sealed class WorkLeaseStore(IDbContextFactory<DeepExtensionDbContext> dbFactory, TimeProvider clock)
{
    /// <summary>This process, as an owner: machine, process id and a value new at each start (a reused process id is another owner).</summary>
    public static readonly string ProcessOwner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>An owner name for <paramref name="role"/> in this process (for example "console" or "worker").</summary>
    public static string OwnerOf(string role) => $"{ProcessOwner}/{role}";

    public async Task<WorkLease?> GetAsync(WorkKind kind, Guid itemId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Set<WorkLease>().AsNoTracking().FirstOrDefaultAsync(l => l.Kind == kind && l.ItemId == itemId, cancellationToken);
    }

    /// <summary>
    /// Takes the item's lease for <paramref name="owner"/> with a new token, unless someone else holds it unexpired
    /// (then null: the caller tries later). The same owner is refused too while it holds it: two jobs of one process for
    /// one item (a trigger recovered by the cluster while its job still runs) would otherwise fence off each other's worker.
    /// </summary>
    public async Task<WorkLeaseGrant?> TryAcquireAsync(WorkKind kind, Guid itemId, string owner, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var expires = now + duration;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var current = await db.Set<WorkLease>().AsNoTracking().FirstOrDefaultAsync(l => l.Kind == kind && l.ItemId == itemId, cancellationToken);
        if (current is null)
        {
            db.Add(new WorkLease { Kind = kind, ItemId = itemId, Owner = owner, Token = 1, AcquiredAtUtc = now, ExpiresAtUtc = expires });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                return null; // Another owner inserted it first.
            }
            return new WorkLeaseGrant(kind, itemId, owner, 1, expires);
        }
        if (current.IsHeldAt(now)) return null;
        var token = current.Token + 1;
        // Still expired when written: a renewal that came in since the read above keeps the lease with its holder.
        var taken = await db.Set<WorkLease>()
            .Where(l => l.Kind == kind && l.ItemId == itemId && l.Token == current.Token && l.ExpiresAtUtc <= now)
            .ExecuteUpdateAsync(u => u.SetProperty(l => l.Owner, owner).SetProperty(l => l.Token, token)
                .SetProperty(l => l.AcquiredAtUtc, now).SetProperty(l => l.ExpiresAtUtc, expires), cancellationToken);
        return taken == 1 ? new WorkLeaseGrant(kind, itemId, owner, token, expires) : null;
    }

    /// <summary>
    /// Pushes the expiry forward; null when the token is no longer the item's or the lease has run out (the lease was
    /// lost). An expired lease is not revived even when nobody took it yet: a holder that was frozen past its expiry
    /// cannot know whether another process is just taking it.
    /// </summary>
    public async Task<WorkLeaseGrant?> RenewAsync(WorkLeaseGrant lease, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var expires = now + duration;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var renewed = await db.Set<WorkLease>()
            .Where(l => l.Kind == lease.Kind && l.ItemId == lease.ItemId && l.Token == lease.Token && l.ExpiresAtUtc > now)
            .ExecuteUpdateAsync(u => u.SetProperty(l => l.ExpiresAtUtc, expires), cancellationToken);
        return renewed == 1 ? lease with { ExpiresAtUtc = expires } : null;
    }

    /// <summary>Ends the lease now if <paramref name="lease"/>'s token is still the item's; a newer holder is left alone.</summary>
    public async Task ReleaseAsync(WorkLeaseGrant lease, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.Set<WorkLease>()
            .Where(l => l.Kind == lease.Kind && l.ItemId == lease.ItemId && l.Token == lease.Token && l.ExpiresAtUtc > now)
            .ExecuteUpdateAsync(u => u.SetProperty(l => l.ExpiresAtUtc, now), cancellationToken);
    }

    /// <summary>The grant behind <paramref name="token"/> when it is still the item's unexpired lease (a worker checking what its console handed it).</summary>
    public async Task<WorkLeaseGrant?> FindHeldAsync(WorkKind kind, Guid itemId, long token, CancellationToken cancellationToken = default)
    {
        var lease = await GetAsync(kind, itemId, cancellationToken);
        return lease is not null && lease.Token == token && lease.IsHeldAt(clock.GetUtcNow().UtcDateTime)
            ? new WorkLeaseGrant(kind, itemId, lease.Owner, lease.Token, lease.ExpiresAtUtc)
            : null;
    }
}
