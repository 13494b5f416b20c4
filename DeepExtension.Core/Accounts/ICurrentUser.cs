namespace DeepExtension.Core.Accounts;

/// <summary>
/// Who is asking a service to do something. The web app supplies the signed-in user (of the HTTP request or the
/// Blazor circuit); background jobs and start-up work act as <see cref="SystemUser"/>.
/// </summary>
public interface ICurrentUser
{
    /// <summary>The user's name (their email), recorded as CreatedBy; null for the system.</summary>
    string? Name { get; }

    /// <summary>True for work nobody asked for interactively (jobs, recovery at start-up).</summary>
    bool IsSystem { get; }

    bool IsInRole(string role);
}

/// <summary>The console itself: jobs, start-up recovery, tools. Allowed everything.</summary>
public sealed class SystemUser : ICurrentUser
{
    public static SystemUser Instance { get; } = new();

    public string? Name => null;
    public bool IsSystem => true;
    public bool IsInRole(string role) => true;
}

/// <summary>What each role may do, in one place; the services ask before they change anything.</summary>
public static class Access
{
    public const string ViewerMessage = "Your role (Viewer) can look at everything but change nothing.";
    public const string AdminOnlyMessage = "Only an Admin can do this.";
    public const string NotYoursMessage = "Only an Admin or the member who created it can delete it.";

    public static bool IsAdmin(this ICurrentUser user) => user.IsSystem || user.IsInRole(Roles.Admin);

    /// <summary>Upload, register, train, save, deploy: Admins and Members.</summary>
    public static bool CanChange(this ICurrentUser user) => user.IsAdmin() || user.IsInRole(Roles.Member);

    /// <summary>Delete or remove: Admins anything, Members what they created.</summary>
    public static bool CanDelete(this ICurrentUser user, string? createdBy) =>
        user.IsAdmin() || (user.IsInRole(Roles.Member) && createdBy is not null
            && string.Equals(createdBy, user.Name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Null when <paramref name="user"/> may change things, else the reason to show.</summary>
    public static string? DenyChange(this ICurrentUser user) => user.CanChange() ? null : ViewerMessage;

    public static string? DenyDelete(this ICurrentUser user, string? createdBy) =>
        user.CanDelete(createdBy) ? null : user.CanChange() ? NotYoursMessage : ViewerMessage;

    public static string? DenyAdmin(this ICurrentUser user) => user.IsAdmin() ? null : AdminOnlyMessage;
}
