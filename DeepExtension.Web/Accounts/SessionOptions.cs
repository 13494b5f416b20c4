namespace DeepExtension.Web.Accounts;

/// <summary>"DeepExtension:Sessions": how often an open page (a Blazor circuit) that sends nothing re-checks its user.</summary>
public sealed class SessionOptions
{
    public const string SectionName = "DeepExtension:Sessions";

    /// <summary>Idle pages re-check this often; any click or navigation re-checks at once.</summary>
    public TimeSpan RevalidationInterval { get; set; } = TimeSpan.FromSeconds(10);
}
