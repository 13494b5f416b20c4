using System.Security.Claims;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Audit;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Web.Accounts;

/// <summary>A token as its owner sees it: never the secret.</summary>
public sealed record ApiTokenRow(Guid Id, string Name, string Hint, DateTime CreatedAtUtc, DateTime ExpiresAtUtc, DateTime? LastUsedAtUtc, DateTime? RevokedAtUtc)
{
    public static ApiTokenRow Of(ApiToken token) =>
        new(token.Id, token.Name, token.Hint, token.CreatedAtUtc, token.ExpiresAtUtc, token.LastUsedAtUtc, token.RevokedAtUtc);
}

/// <summary>A new token: <see cref="Token"/> is shown this once and stored nowhere.</summary>
public sealed record CreatedApiToken(ApiTokenRow Row, string Token);

/// <summary>
/// Personal API tokens: create (for the signed-in user), list and revoke one's own, and check a presented token for the
/// Bearer scheme. Only SHA-256 hashes are stored.
/// </summary>
public sealed class ApiTokenService(IDbContextFactory<DeepExtensionDbContext> dbFactory, IServiceScopeFactory scopes, ICurrentUser currentUser, TimeProvider clock)
{
    public const string NameField = "Name";
    public const string ExpiresField = "ExpiresInDays";
    public const int DefaultLifetimeDays = 30;
    public const int MaxLifetimeDays = 365;
    public static IReadOnlyList<int> LifetimeChoices { get; } = [7, 30, 90, 365];

    public async Task<IReadOnlyList<ApiTokenRow>> ListMineAsync(CancellationToken cancellationToken = default)
    {
        if (await CurrentUserIdAsync() is not { } userId) return [];
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var tokens = await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId).ToListAsync(cancellationToken);
        return tokens.OrderByDescending(t => t.CreatedAtUtc).Select(ApiTokenRow.Of).ToList();
    }

    public async Task<OperationResult<CreatedApiToken>> CreateAsync(string? name, int expiresInDays, CancellationToken cancellationToken = default)
    {
        var errors = new ValidationErrors();
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0) errors.Add(NameField, "The token name is required.");
        else if (trimmed.Length > ApiToken.NameMaxLength) errors.Add(NameField, $"The token name must be at most {ApiToken.NameMaxLength} characters.");
        if (expiresInDays is < 1 or > MaxLifetimeDays) errors.Add(ExpiresField, $"A token lasts 1 to {MaxLifetimeDays} days.");
        if (errors.Any) return OperationResult<CreatedApiToken>.Failure(errors);
        if (await CurrentUserIdAsync() is not { } userId)
            return OperationResult<CreatedApiToken>.Failure(OperationResult<CreatedApiToken>.General, "Only a signed-in user can create a token.");

        var secret = ApiToken.NewSecret();
        var now = clock.GetUtcNow().UtcDateTime;
        var token = new ApiToken
        {
            Id = Guid.CreateVersion7(),
            UserId = userId,
            Name = trimmed,
            TokenHash = ApiToken.HashOf(secret),
            Hint = secret[..(ApiToken.Prefix.Length + 4)],
            CreatedAtUtc = now,
            ExpiresAtUtc = now.AddDays(expiresInDays),
        };
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.ApiTokens.Add(token);
        AuditTrail.Add(db, currentUser, clock, AuditActions.Created, AuditObjects.ApiToken, token.Id, token.Name, $"expires {token.ExpiresAtUtc:yyyy-MM-dd}");
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<CreatedApiToken>.Success(new CreatedApiToken(ApiTokenRow.Of(token), secret));
    }

    /// <summary>Revokes one of the user's own tokens (Admins may revoke anyone's).</summary>
    public async Task<OperationResult<bool>> RevokeAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var userId = await CurrentUserIdAsync();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null || (token.UserId != userId && !currentUser.IsAdmin()))
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "This token no longer exists.");
        if (token.RevokedAtUtc is not null) return OperationResult<bool>.Success(false);
        token.RevokedAtUtc = clock.GetUtcNow().UtcDateTime;
        AuditTrail.Add(db, currentUser, clock, AuditActions.Revoked, AuditObjects.ApiToken, token.Id, token.Name);
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<bool>.Success(true);
    }

    /// <summary>
    /// The owner of an active token, with their current role, as a principal of <paramref name="scheme"/>; null for an
    /// unknown, expired or revoked token, or an owner who is gone. A locked-out owner's tokens keep working: the lockout
    /// stops password guessing, and anyone can trigger it with wrong passwords. Records the use.
    /// </summary>
    public async Task<ClaimsPrincipal?> AuthenticateAsync(string presented, string scheme, CancellationToken cancellationToken = default)
    {
        if (!presented.StartsWith(ApiToken.Prefix, StringComparison.Ordinal) || presented.Length > 200) return null;
        var hash = ApiToken.HashOf(presented);
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.FirstOrDefaultAsync(t => t.TokenHash == hash, cancellationToken);
        if (token is null || !token.IsActive(now)) return null;

        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        if (await users.FindByIdAsync(token.UserId) is not { } user) return null;
        var principal = await scope.ServiceProvider.GetRequiredService<IUserClaimsPrincipalFactory<ApplicationUser>>().CreateAsync(user);

        await RecordUseAsync(db, token, now, cancellationToken);
        var identity = principal.Identities.First();
        return new ClaimsPrincipal(new ClaimsIdentity(identity.Claims, scheme, identity.NameClaimType, identity.RoleClaimType));
    }

    /// <summary>How precisely "last used" is kept: a busy script writes it once a minute, not with every request.</summary>
    public static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    /// <summary>
    /// "Last used" is a convenience: a database that refuses the write (read-only, immutable, disk full) never fails the
    /// request, so reads keep working through a write outage.
    /// </summary>
    private static async Task RecordUseAsync(DeepExtensionDbContext db, ApiToken token, DateTime now, CancellationToken cancellationToken)
    {
        if (token.LastUsedAtUtc is { } last && now - last < LastUseResolution) return;
        token.LastUsedAtUtc = now;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is DbUpdateException or System.Data.Common.DbException)
        {
            // Recorded at the next use the database accepts.
        }
    }

    private async Task<string?> CurrentUserIdAsync()
    {
        if (currentUser.IsSystem || currentUser.Name is not { } name) return null;
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        return (await users.FindByNameAsync(name))?.Id;
    }
}
