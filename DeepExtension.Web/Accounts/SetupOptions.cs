namespace DeepExtension.Web.Accounts;

/// <summary>
/// "DeepExtension:Setup": for unattended installs, the first Admin created at start-up while no user exists
/// (set both through environment variables: DeepExtension__Setup__AdminEmail / DeepExtension__Setup__AdminPassword).
/// </summary>
public sealed class SetupOptions
{
    public const string SectionName = "DeepExtension:Setup";

    public string? AdminEmail { get; set; }
    public string? AdminPassword { get; set; }
}
