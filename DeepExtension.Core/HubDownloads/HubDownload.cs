using DeepExtension.Core.Work;

namespace DeepExtension.Core.HubDownloads;

/// <summary>
/// One file a download fetches, with what the Hub publishes to verify it: the LFS sha256 for large files, the git
/// blob id (sha1 of "blob &lt;size&gt;\0" + content) for every file.
/// </summary>
public sealed record HubFile(string Name, long Size, string? Sha256, string? BlobId)
{
    public bool IsLfs => Sha256 is not null;
}

/// <summary>
/// A base model fetched from the Hugging Face Hub (or a mirror) into the models root, then registered. The commit is
/// pinned when the download is queued, so every file (and a resume after a console stop) comes from the same revision.
/// </summary>
public sealed class HubDownload : WorkItem
{
    /// <summary>"Qwen/Qwen2.5-0.5B-Instruct".</summary>
    public required string Repository { get; set; }
    /// <summary>What the user asked for: a branch, a tag or a commit.</summary>
    public required string Revision { get; set; }
    /// <summary>The commit <see cref="Revision"/> resolved to when the download was queued.</summary>
    public required string Commit { get; set; }
    /// <summary>The folder, relative to the models root, with '/' separators ("Qwen/Qwen2.5-0.5B-Instruct" by default).</summary>
    public required string TargetPath { get; set; }
    /// <summary>The base model registered when the files are in: its technical name and model name.</summary>
    public required string TechnicalName { get; set; }
    public required string ModelName { get; set; }
    public required string Architecture { get; set; }
    public IReadOnlyList<HubFile> Files { get; set; } = [];
    /// <summary>The access token, encrypted with Data Protection (<see cref="HubDownloadService.TokenPurpose"/>); cleared when the download ends.</summary>
    public string? ProtectedToken { get; set; }
    public long TotalBytes { get; set; }
    /// <summary>Bytes on disk so far, resumed ones included.</summary>
    public long DoneBytes { get; set; }
    /// <summary>Recent transfer speed; null when nothing is moving.</summary>
    public double? BytesPerSecond { get; set; }
    /// <summary>What is happening now, e.g. "Downloading 2 of 5 files".</summary>
    public string? Stage { get; set; }
    /// <summary>The base model it registered, once it succeeded.</summary>
    public Guid? BaseModelId { get; set; }

    public override WorkKind Kind => WorkKind.Download;

    /// <summary>Seconds left at the current speed, or null when unknown.</summary>
    public double? SecondsLeft => BytesPerSecond is > 0 && TotalBytes >= DoneBytes ? (TotalBytes - DoneBytes) / BytesPerSecond : null;

    public double Fraction => TotalBytes > 0 ? Math.Clamp(DoneBytes / (double)TotalBytes, 0, 1) : 0;

    protected override void OnQueued()
    {
        BytesPerSecond = null;
        Stage = Attempts == 0 ? "Queued" : "Interrupted by a console stop; continues where it stopped when the console starts again";
    }

    protected override void OnStarted() => Stage = "Starting";

    protected override void OnFinished(WorkStatus outcome)
    {
        BytesPerSecond = null;
        ProtectedToken = null;
        if (outcome == WorkStatus.Succeeded) DoneBytes = TotalBytes;
        Stage = outcome switch
        {
            WorkStatus.Succeeded => "Downloaded and registered",
            WorkStatus.Failed => "Failed",
            _ => "Cancelled",
        };
    }
}

/// <summary>What the "Download from the Hub" form submits; empty names take their defaults (from the repository id).</summary>
public sealed record HubDownloadRequest(string Repository, string? Revision = null, string? AccessToken = null,
    string? TargetPath = null, string? TechnicalName = null, string? ModelName = null);

/// <summary>What the form shows before the user confirms: the files and sizes, and the architecture (one the engine trains: a plan is refused otherwise).</summary>
public sealed record HubDownloadPlan(
    string Repository,
    string Revision,
    string Commit,
    IReadOnlyList<HubFile> Files,
    IReadOnlyList<string> Skipped,
    string Architecture,
    bool Gated,
    string TargetPath,
    string TechnicalName,
    string ModelName)
{
    public long TotalBytes => Files.Sum(f => f.Size);
}
