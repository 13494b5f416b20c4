using DeepExtension.Core.Runs;

namespace DeepExtension.Core.Work;

/// <summary>
/// The JSON-lines log of one work item (<see cref="LogLine"/> per line), named for what it is:
/// runs/&lt;id&gt;/train.log.jsonl, saves/&lt;id&gt;/save.log.jsonl, deployments/&lt;id&gt;/deploy.log.jsonl,
/// evaluations/&lt;id&gt;/evaluate.log.jsonl.
/// Saves and deployments wrote train.log.jsonl before; that file is still read, before the new one.
/// </summary>
public sealed class WorkLog
{
    public const string TrainFileName = "train.log.jsonl";
    public const string SaveFileName = "save.log.jsonl";
    public const string DeployFileName = "deploy.log.jsonl";
    public const string DownloadFileName = "download.log.jsonl";
    public const string EvaluateFileName = "evaluate.log.jsonl";

    private WorkLog(string path, string? legacyPath, long? leaseToken = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        LegacyPath = legacyPath is null ? null : System.IO.Path.GetFullPath(legacyPath);
        LeaseToken = leaseToken;
    }

    /// <summary>The log of a work item of <paramref name="kind"/> whose files live in <paramref name="folder"/>.</summary>
    public static WorkLog In(string folder, WorkKind kind) => kind switch
    {
        WorkKind.Train => new(System.IO.Path.Combine(folder, TrainFileName), null),
        WorkKind.Save => new(System.IO.Path.Combine(folder, SaveFileName), System.IO.Path.Combine(folder, TrainFileName)),
        WorkKind.Deploy => new(System.IO.Path.Combine(folder, DeployFileName), System.IO.Path.Combine(folder, TrainFileName)),
        WorkKind.Download => new(System.IO.Path.Combine(folder, DownloadFileName), null),
        WorkKind.Evaluate => new(System.IO.Path.Combine(folder, EvaluateFileName), null),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// The fencing token of the lease held by whoever writes through this log, stamped on each line it appends: a writer
    /// frozen past its lease and thawed after a takeover appends lines that readers leave out (<see cref="LeaseFence"/>).
    /// </summary>
    public long? LeaseToken { get; }

    /// <summary>The same log, its lines stamped with <paramref name="token"/>.</summary>
    public WorkLog WithLeaseToken(long token) => new(Path, LegacyPath, token);

    /// <summary>Where new lines go.</summary>
    public string Path { get; }

    /// <summary>The name an earlier version wrote this log under, or null.</summary>
    public string? LegacyPath { get; }

    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    public void Append(LogLine line)
    {
        System.IO.Directory.CreateDirectory(Directory);
        if (line.LeaseToken is null && LeaseToken is { } token) line = line with { LeaseToken = token };
        JsonLinesFile.Append(Path, line.ToJsonLine());
    }

    public void Append(RunLogLevel level, string message) => Append(new LogLine(DateTimeOffset.UtcNow, level, message));

    /// <summary>Every line, oldest first: the old file's (if an earlier version wrote one), then the new one's.</summary>
    public List<LogLine> ReadAll()
    {
        var lines = new List<string>();
        if (LegacyPath is not null) lines.AddRange(JsonLinesFile.ReadAll(LegacyPath));
        lines.AddRange(JsonLinesFile.ReadAll(Path));
        return LogFile.Current(lines, new LeaseFence());
    }
}
