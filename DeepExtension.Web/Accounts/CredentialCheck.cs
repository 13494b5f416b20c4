using DeepExtension.Core.Accounts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace DeepExtension.Web.Accounts;

public enum CredentialOutcome { Succeeded, Wrong, LockedOut }

public sealed record CredentialResult(CredentialOutcome Outcome, ApplicationUser? User)
{
    public const string WrongMessage = "Wrong email or password.";
    public const string LockedOutMessage = "Too many failed attempts: this account is locked for 15 minutes.";
}

/// <summary>
/// Checks an email and password for the sign-in form and for HTTP Basic alike. An unknown email gets the same answers
/// as a known one (wrong, then locked after the same number of failures) after the same work (a password hash is
/// verified either way), so neither the message nor the response time tells which accounts exist. A locked account's
/// password is not checked, but the same hash work is done.
/// </summary>
public sealed class CredentialCheck(IServiceScopeFactory scopes, IOptions<IdentityOptions> identity, TimeProvider clock) : IDisposable
{
    private static readonly ApplicationUser Nobody = new("nobody@deepx.invalid");

    // Failures of unknown emails, bounded so that a spray of random emails cannot fill the memory.
    private readonly MemoryCache _unknownFailures = new(new MemoryCacheOptions { SizeLimit = 10_000 });
    private readonly Lock _gate = new();
    private string? _decoyHash;

    public async Task<CredentialResult> CheckAsync(string email, string password)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var user = await users.FindByEmailAsync(email.Trim());
        if (user is null)
        {
            VerifyDecoy(users.PasswordHasher, password);
            return new(RecordUnknownFailure(email) ? CredentialOutcome.LockedOut : CredentialOutcome.Wrong, null);
        }
        if (await users.IsLockedOutAsync(user))
        {
            VerifyDecoy(users.PasswordHasher, password);
            return new(CredentialOutcome.LockedOut, null);
        }
        var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<ApplicationUser>>();
        var result = await signIn.CheckPasswordSignInAsync(user, password, lockoutOnFailure: true);
        return result.Succeeded ? new(CredentialOutcome.Succeeded, user)
            : new(result.IsLockedOut ? CredentialOutcome.LockedOut : CredentialOutcome.Wrong, null);
    }

    /// <summary>The hash work a real check does, on a hash of a random password.</summary>
    private void VerifyDecoy(IPasswordHasher<ApplicationUser> hasher, string password)
    {
        _decoyHash ??= hasher.HashPassword(Nobody, Guid.NewGuid().ToString("N"));
        hasher.VerifyHashedPassword(Nobody, _decoyHash, password);
    }

    /// <summary>Counts a failure for an unknown email the way Identity counts one for a user; true when it is "locked".</summary>
    private bool RecordUnknownFailure(string email)
    {
        var key = email.Trim().ToUpperInvariant();
        var lockout = identity.Value.Lockout;
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            var entry = _unknownFailures.Get<UnknownAccount>(key) ?? new UnknownAccount();
            if (entry.LockedUntil > now) return true;
            entry.Failures++;
            if (entry.Failures >= lockout.MaxFailedAccessAttempts)
            {
                entry.Failures = 0;
                entry.LockedUntil = now + lockout.DefaultLockoutTimeSpan;
            }
            _unknownFailures.Set(key, entry, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = lockout.DefaultLockoutTimeSpan * 2 });
            return entry.LockedUntil > now;
        }
    }

    public void Dispose() => _unknownFailures.Dispose();

    private sealed class UnknownAccount
    {
        public int Failures { get; set; }
        public DateTimeOffset LockedUntil { get; set; }
    }
}
