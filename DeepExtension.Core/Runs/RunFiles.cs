using DeepExtension.Core.Work;

namespace DeepExtension.Core.Runs;

/// <summary>
/// The folder of one training run. The worker process writes it; the console reads it. Everything a run
/// produces lives here, so a run survives console restarts and can be inspected by hand.
/// </summary>
public sealed class RunFiles(string directory)
{
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>The run's full configuration, written by the console before the worker starts.</summary>
    public string ConfigPath => Path.Combine(Directory, "run.json");

    /// <summary>One JSON object per logging step, appended by the worker (see <see cref="MetricsFile"/>).</summary>
    public string MetricsPath => Path.Combine(Directory, "metrics.jsonl");

    /// <summary>A cache of metrics.jsonl's parsed rows up to a byte offset, so a history opens without parsing the JSON (see <see cref="MetricSnapshot"/>).</summary>
    public string MetricsSnapshotPath => Path.Combine(Directory, "metrics.snapshot");

    /// <summary>One JSON object per log line (see <see cref="LogFile"/>).</summary>
    public string LogPath => Log.Path;

    /// <summary>The run's log, train.log.jsonl.</summary>
    public WorkLog Log => WorkLog.In(Directory, WorkKind.Train);

    public string CheckpointsDirectory => Path.Combine(Directory, "checkpoints");

    /// <summary>The final adapter in PEFT's format.</summary>
    public string AdapterDirectory => Path.Combine(Directory, "adapter");

    /// <summary>Created by the console to ask the worker to stop at the next step boundary.</summary>
    public string CancelRequestPath => Path.Combine(Directory, "cancel.request");

    public void RequestCancel() => File.WriteAllText(CancelRequestPath, DateTime.UtcNow.ToString("O"));

    public bool CancelRequested => File.Exists(CancelRequestPath);
}

/// <summary>The files of a run that grow while it trains (what a worker node sends the console, see <see cref="Nodes.NodeFeed"/>).</summary>
public enum RunFileKind
{
    Metrics,
    Log,
}
