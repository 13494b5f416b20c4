using DeepExtension.Core.Data;
using DeepExtension.Core.Nodes;
using DeepExtension.Jobs.Engine.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Jobs.Nodes;

/// <summary>One device of a node as its devices report gives it.</summary>
public sealed record NodeDevice(string Name, string Kind, long? TotalMemoryBytes, long? FreeMemoryBytes);

/// <summary>A training run executing on a node.</summary>
public sealed record NodeRun(Guid Id, string Name);

/// <summary>A node as the Nodes page shows it.</summary>
public sealed record NodeView(
    string Id, string Name, string Host, bool IsConsole, string Version, string Backend, IReadOnlyList<NodeDevice> Devices,
    string? DevicesError, int Slots, int FreeSlots, IReadOnlyList<NodeRun> Runs, DateTime StartedAtUtc, DateTime LastHeartbeatAtUtc,
    DateTime? StoppedAtUtc, NodeState State);

public enum NodeState
{
    Online,
    Stopped,
    Lost,
}

/// <summary>Reads the nodes table for the console; nodes write their own rows (<c>NodeHeartbeat</c> in the jobs host).</summary>
public sealed class NodeService(IDbContextFactory<DeepExtensionDbContext> dbFactory, IConfiguration configuration, TimeProvider clock)
{
    public const string LostAfterKey = "DeepExtension:Nodes:LostAfterSeconds";
    public const string HeartbeatKey = "DeepExtension:Nodes:HeartbeatSeconds";

    /// <summary>How long without a heartbeat before a node reads as lost (default 60 s).</summary>
    public TimeSpan LostAfter => TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue(LostAfterKey, 60.0)));

    /// <summary>How often a node writes its row (default 10 s).</summary>
    public TimeSpan HeartbeatInterval => TimeSpan.FromSeconds(Math.Max(0.2, configuration.GetValue(HeartbeatKey, 10.0)));

    /// <summary>Stopped nodes drop off the list after a day; lost ones stay until that long after their last beat.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromDays(1);

    public async Task<IReadOnlyList<NodeView>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var since = now - ForgetAfter;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var nodes = await db.WorkerNodes.AsNoTracking().Where(n => n.LastHeartbeatAtUtc >= since).ToListAsync(cancellationToken);
        var runIds = nodes.SelectMany(n => n.RunningRuns).Distinct().ToList();
        var names = await db.TrainingRuns.AsNoTracking().Where(r => runIds.Contains(r.Id))
            .Select(r => new { r.Id, r.Name }).ToDictionaryAsync(r => r.Id, r => r.Name, cancellationToken);
        return nodes
            .Select(n => ToView(n, names, now))
            .OrderBy(n => n.State).ThenBy(n => n.Name, StringComparer.OrdinalIgnoreCase).ThenByDescending(n => n.StartedAtUtc)
            .ToList();
    }

    private NodeView ToView(WorkerNode node, IReadOnlyDictionary<Guid, string> runNames, DateTime now)
    {
        var (backend, devices) = ParseDevices(node.DevicesJson);
        var state = node.StoppedAtUtc is not null ? NodeState.Stopped
            : now - node.LastHeartbeatAtUtc > LostAfter ? NodeState.Lost
            : NodeState.Online;
        var runs = state == NodeState.Stopped ? [] : node.RunningRuns
            .Select(id => new NodeRun(id, runNames.TryGetValue(id, out var name) ? name : id.ToString())).ToList();
        return new NodeView(node.Id, node.Name, node.Host, node.IsConsole, node.Version, backend, devices, node.DevicesError,
            node.Slots, state == NodeState.Online ? node.FreeSlots : 0, runs, node.StartedAtUtc, node.LastHeartbeatAtUtc, node.StoppedAtUtc, state);
    }

    /// <summary>The backend and devices of a devices report: the CPU always, then each GPU.</summary>
    public static (string Backend, IReadOnlyList<NodeDevice> Devices) ParseDevices(string? json)
    {
        if (string.IsNullOrWhiteSpace(json) || DevicesReport.Parse(json) is not { } report) return ("", []);
        var devices = new List<NodeDevice> { new("CPU", "cpu", null, null) };
        devices.AddRange(report.Gpus.Select(g => new NodeDevice($"cuda:{g.Index} {g.Name}", "cuda", g.TotalBytes, g.FreeBytes)));
        return (report.Backend, devices);
    }
}
