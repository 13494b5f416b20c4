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
    private const string NotYoursPrefix = "Only an Admin or the member who created it can ";

    public static bool IsAdmin(this ICurrentUser user) => user.IsSystem || user.IsInRole(Roles.Admin);

    /// <summary>Upload, register, train, save, deploy: Admins and Members.</summary>
    public static bool CanChange(this ICurrentUser user) => user.IsAdmin() || user.IsInRole(Roles.Member);

    /// <summary>
    /// The one rule for acting on an existing object (edit, delete, cancel, resume, add a version, stop): Admins
    /// anything, Members what they created, Viewers nothing.
    /// </summary>
    public static bool MayAlter(this ICurrentUser user, string? createdBy) =>
        user.IsAdmin() || (user.IsInRole(Roles.Member) && createdBy is not null
            && string.Equals(createdBy, user.Name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The refusal of <see cref="MayAlter"/> for a Member, naming the action ("resume it", "delete it").</summary>
    public static string NotYours(string action) => NotYoursPrefix + action + ".";

    /// <summary>Whether <paramref name="message"/> is one of this class's refusals (the API answers them 403).</summary>
    public static bool IsRefusal(string message) =>
        message is ViewerMessage or AdminOnlyMessage || message.StartsWith(NotYoursPrefix, StringComparison.Ordinal);

    /// <summary>Null when <paramref name="user"/> may change things, else the reason to show.</summary>
    public static string? DenyChange(this ICurrentUser user) => user.CanChange() ? null : ViewerMessage;

    /// <summary>Null when <paramref name="user"/> may <paramref name="action"/> (e.g. "resume it") on an object <paramref name="createdBy"/> made.</summary>
    public static string? DenyAlter(this ICurrentUser user, string? createdBy, string action) =>
        user.MayAlter(createdBy) ? null : user.CanChange() ? NotYours(action) : ViewerMessage;

    public static string? DenyAdmin(this ICurrentUser user) => user.IsAdmin() ? null : AdminOnlyMessage;
}
