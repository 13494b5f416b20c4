namespace DeepExtension.Core.Audit;

/// <summary>
/// One line of the audit trail: who did what to which object, and when. Rows are only ever added (no service updates
/// or deletes them), so the trail stays what happened.
/// </summary>
public sealed class AuditEntry
{
    public const string SystemActor = "system";

    public long Id { get; set; }
    public DateTime AtUtc { get; set; }
    /// <summary>The user's name (email), or <see cref="SystemActor"/> for work nobody asked for interactively.</summary>
    public required string Actor { get; set; }
    /// <summary>One of <see cref="AuditActions"/>.</summary>
    public required string Action { get; set; }
    /// <summary>One of <see cref="AuditObjects"/>.</summary>
    public required string ObjectKind { get; set; }
    public string? ObjectId { get; set; }
    public string? ObjectName { get; set; }
    /// <summary>A short note (a version, a role, a target); never secrets.</summary>
    public string? Detail { get; set; }

    public const int ActorMaxLength = 256;
    public const int NameMaxLength = 300;
    public const int DetailMaxLength = 500;
}

/// <summary>The verbs of the audit trail.</summary>
public static class AuditActions
{
    public const string Registered = "Registered";
    public const string Uploaded = "Uploaded";
    public const string Created = "Created";
    public const string Changed = "Changed";
    public const string Started = "Started";
    public const string Cancelled = "Cancelled";
    public const string Resumed = "Resumed";
    public const string Saved = "Saved";
    public const string Deployed = "Deployed";
    public const string Removed = "Removed";
    public const string Deleted = "Deleted";
    public const string RoleChanged = "Role changed";
    public const string Unlocked = "Unlocked";
    public const string Revoked = "Revoked";
    public const string Voted = "Voted";

    public static IReadOnlyList<string> All { get; } =
        [Registered, Uploaded, Created, Changed, Started, Cancelled, Resumed, Saved, Deployed, Removed, Deleted, RoleChanged, Unlocked, Revoked, Voted];
}

/// <summary>The kinds of object the audit trail names.</summary>
public static class AuditObjects
{
    public const string BaseModel = "Base model";
    public const string Dataset = "Dataset";
    public const string TrainingMethod = "Training method";
    public const string Train = "Train";
    public const string CustomizedModel = "Customized model";
    public const string CompleteModel = "Complete model";
    public const string Deployment = "Deployment";
    public const string Environment = "Environment";
    public const string User = "User";
    public const string ApiToken = "API token";
    public const string ArenaVote = "Arena vote";

    public static IReadOnlyList<string> All { get; } =
        [BaseModel, Dataset, TrainingMethod, Train, CustomizedModel, CompleteModel, Deployment, Environment, User, ApiToken, ArenaVote];
}
