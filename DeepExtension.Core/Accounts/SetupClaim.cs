namespace DeepExtension.Core.Accounts;

/// <summary>
/// A one-time setup token in use: its hash is the primary key, so of simultaneous requests with the same token the
/// database lets exactly one claim it. A claim whose Admin could not be created (bad input) is removed again.
/// </summary>
public sealed class SetupClaim
{
    public const int TokenHashLength = 64;

    /// <summary>The SHA-256 of the token, hex.</summary>
    public required string TokenHash { get; init; }

    public DateTime ClaimedAtUtc { get; init; }
}
