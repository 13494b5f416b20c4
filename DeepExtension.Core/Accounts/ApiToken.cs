using System.Security.Cryptography;
using System.Text;

namespace DeepExtension.Core.Accounts;

/// <summary>
/// A personal API token. Only the SHA-256 of the token is stored: the token itself (32 random bytes) is shown once, when
/// it is created. A request with it acts as its owner with the owner's current role.
/// </summary>
public sealed class ApiToken
{
    /// <summary>Every token starts with this, so a leaked one is recognisable (and scanners can find it).</summary>
    public const string Prefix = "dxt_";
    public const int NameMaxLength = 100;

    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public required string Name { get; set; }
    /// <summary>Lower-case hex SHA-256 of the whole token.</summary>
    public required string TokenHash { get; set; }
    /// <summary>The first characters of the token, to tell tokens apart on the page.</summary>
    public required string Hint { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    public DateTime ExpiresAtUtc { get; set; }
    public DateTime? LastUsedAtUtc { get; set; }
    public DateTime? RevokedAtUtc { get; set; }

    public bool IsActive(DateTime nowUtc) => RevokedAtUtc is null && ExpiresAtUtc > nowUtc;

    /// <summary>A new random token (prefix + 43 base64url characters: 256 bits).</summary>
    public static string NewSecret() =>
        Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string HashOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
