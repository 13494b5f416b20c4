namespace DeepExtension.Core.Nodes;

/// <summary>
/// A machine whose scheduler takes work from the shared (clustered) job store: a <c>DeepExtension.Jobs worker</c>
/// process, or the console itself when its scheduler is on. Written by the node; read by the Nodes page.
/// </summary>
public sealed class WorkerNode
{
    /// <summary>The node's Quartz scheduler instance id: unique in the cluster, new at each start.</summary>
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Host { get; set; } = "";
    /// <summary>True for a console that also schedules; false for a worker node.</summary>
    public bool IsConsole { get; set; }
    public string Version { get; set; } = "";
    /// <summary>The node's <c>DeepExtension.Jobs devices</c> report (JSON), or null until it has one.</summary>
    public string? DevicesJson { get; set; }
    /// <summary>Why the node has no device report, when it has none.</summary>
    public string? DevicesError { get; set; }
    /// <summary>The devices the node trains on, comma-separated ("cpu,cuda:0"): what routing matches a run's device against.</summary>
    public string DeviceKinds { get; set; } = "";
    public int Slots { get; set; }
    public int FreeSlots { get; set; }
    /// <summary>The training runs executing on the node at its last heartbeat, comma-separated ids.</summary>
    public string RunningRunIds { get; set; } = "";
    public DateTime StartedAtUtc { get; set; }
    public DateTime LastHeartbeatAtUtc { get; set; }
    /// <summary>Set when the node stopped cleanly; a node that stops beating without it is lost.</summary>
    public DateTime? StoppedAtUtc { get; set; }

    public IReadOnlyList<string> OfferedDevices => DeviceKinds.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public IReadOnlyList<Guid> RunningRuns =>
        RunningRunIds.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).ToList();
}

/// <summary>The one row naming this installation's data root: the id the console wrote into its marker file.</summary>
public sealed class Installation
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    public Guid DataRootId { get; set; }
    public DateTime CreatedAtUtc { get; set; }
}
