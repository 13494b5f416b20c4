using DeepExtension.Core.Accounts;
using DeepExtension.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Audit;

/// <summary>What the Audit page asks for: every filter is optional; the page is 0-based.</summary>
public sealed record AuditQuery(string? Actor = null, string? Action = null, string? ObjectKind = null, string? ObjectText = null, int Page = 0, int PageSize = 50);

public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, int Total, int Page, int PageSize);

/// <summary>
/// Writes and reads the audit trail. Services add their entry to the context that saves the change, so the action and
/// its entry are saved together (<see cref="Add"/>); reading is for Admins. There is no update or delete.
/// </summary>
public sealed class AuditTrail(IDbContextFactory<DeepExtensionDbContext> dbFactory, ICurrentUser? currentUser = null)
{
    public const int MaxPageSize = 200;

    /// <summary>Adds the entry to <paramref name="db"/>; it is written by the caller's next SaveChanges.</summary>
    public static void Add(DeepExtensionDbContext db, ICurrentUser user, TimeProvider clock, string action, string objectKind,
        object? objectId, string? objectName, string? detail = null) =>
        db.AuditEntries.Add(new AuditEntry
        {
            AtUtc = clock.GetUtcNow().UtcDateTime,
            Actor = Clip(user.Name, AuditEntry.ActorMaxLength) ?? AuditEntry.SystemActor,
            Action = action,
            ObjectKind = objectKind,
            ObjectId = objectId?.ToString(),
            ObjectName = Clip(objectName, AuditEntry.NameMaxLength),
            Detail = Clip(detail, AuditEntry.DetailMaxLength),
        });

    /// <summary>Writes one entry on its own (for actions whose change was not saved through a tracked context).</summary>
    public static async Task WriteAsync(IDbContextFactory<DeepExtensionDbContext> dbFactory, ICurrentUser user, TimeProvider clock, string action,
        string objectKind, object? objectId, string? objectName, string? detail = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        Add(db, user, clock, action, objectKind, objectId, objectName, detail);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Newest first, filtered; Admins only (the trail names everyone's work).</summary>
    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        if ((currentUser ?? SystemUser.Instance).DenyAdmin() is { } denied) throw new UnauthorizedAccessException(denied);
        var pageSize = Math.Clamp(query.PageSize, 1, MaxPageSize);
        var page = Math.Max(0, query.Page);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var entries = db.AuditEntries.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query.Actor)) entries = entries.Where(e => e.Actor == query.Actor);
        if (!string.IsNullOrWhiteSpace(query.Action)) entries = entries.Where(e => e.Action == query.Action);
        if (!string.IsNullOrWhiteSpace(query.ObjectKind)) entries = entries.Where(e => e.ObjectKind == query.ObjectKind);
        if (!string.IsNullOrWhiteSpace(query.ObjectText))
        {
            var text = query.ObjectText.Trim();
            entries = entries.Where(e => (e.ObjectName != null && e.ObjectName.Contains(text)) || e.ObjectId == text);
        }
        var total = await entries.CountAsync(cancellationToken);
        var rows = await entries.OrderByDescending(e => e.Id).Skip(page * pageSize).Take(pageSize).ToListAsync(cancellationToken);
        return new AuditPage(rows, total, page, pageSize);
    }

    /// <summary>Everyone who appears in the trail, for the user filter.</summary>
    public async Task<IReadOnlyList<string>> ActorsAsync(CancellationToken cancellationToken = default)
    {
        if ((currentUser ?? SystemUser.Instance).DenyAdmin() is { } denied) throw new UnauthorizedAccessException(denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.AuditEntries.AsNoTracking().Select(e => e.Actor).Distinct().OrderBy(a => a).ToListAsync(cancellationToken);
    }

    private static string? Clip(string? text, int max) => text is null ? null : text.Length <= max ? text : text[..(max - 1)] + "…";
}
