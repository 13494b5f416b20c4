namespace DeepExtension.Core.Accounts;

/// <summary>The three roles; every user has exactly one.</summary>
public static class Roles
{
    /// <summary>Users, deployment environments and everything a Member may do.</summary>
    public const string Admin = "Admin";

    /// <summary>Upload, train, save, deploy; delete what they created.</summary>
    public const string Member = "Member";

    /// <summary>Reads everything, changes nothing.</summary>
    public const string Viewer = "Viewer";

    public static IReadOnlyList<string> All { get; } = [Admin, Member, Viewer];

    /// <summary>For [Authorize(Roles = ...)]: the roles that may change things.</summary>
    public const string AdminOrMember = Admin + "," + Member;
}
