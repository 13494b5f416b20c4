using DeepExtension.Core.Data;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Jobs.Nodes;

/// <summary>One device of a node as its devices report gives it.</summary>
public sealed record NodeDevice(string Name, string Kind, long? TotalMemoryBytes, long? FreeMemoryBytes);

/// <summary>A training run executing on a node, and the device it trains on (null until its worker chose it).</summary>
public sealed record NodeRun(Guid Id, string Name, string? Device);

/// <summary>A node as the Nodes page shows it.</summary>
public sealed record NodeView(
    string Id, string Name, string Host, bool IsConsole, string Version, string Backend, IReadOnlyList<NodeDevice> Devices,
    IReadOnlyList<string> OfferedDevices, string? DevicesError, int Slots, int FreeSlots, IReadOnlyList<NodeRun> Runs, DateTime StartedAtUtc, DateTime LastHeartbeatAtUtc,
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
    /// <summary>Why a queued run has not started, where nodes route runs by device; null when no node is registered (one machine).</summary>
    public async Task<string?> WhyWaitingAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        if (run.Status != WorkStatus.Queued) return null;
        var nodes = await ListAsync(cancellationToken);
        if (nodes.Count == 0) return null;
        var online = nodes.Where(n => n.State == NodeState.Online).ToList();
        var wanted = NodeDevices.Describe(run.Device);
        if (online.Count == 0) return $"No node is online: the run starts when a node with a {wanted} joins (see the Nodes page).";
        var able = online.Where(n => NodeDevices.Candidates(run.Device, n.OfferedDevices).Count > 0).ToList();
        if (able.Count == 0)
        {
            var offered = string.Join("; ", online.Select(n => $"{n.Name}: {string.Join(", ", n.OfferedDevices)}"));
            return $"Waiting for a node with a {wanted}: no online node has one ({offered}). The run starts when such a node joins.";
        }
        return $"Waiting for a free {wanted} on {string.Join(", ", able.Select(n => n.Name))}: each device trains at most its configured number of runs at once.";
    }

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
            .Select(r => new { r.Id, r.Name, r.DeviceUsed }).ToDictionaryAsync(r => r.Id, r => (r.Name, r.DeviceUsed), cancellationToken);
        return nodes
            .Select(n => ToView(n, names, now))
            .OrderBy(n => n.State).ThenBy(n => n.Name, StringComparer.OrdinalIgnoreCase).ThenByDescending(n => n.StartedAtUtc)
            .ToList();
    }

    private NodeView ToView(WorkerNode node, IReadOnlyDictionary<Guid, (string Name, string? Device)> runNames, DateTime now)
    {
        var (backend, devices) = ParseDevices(node.DevicesJson);
        var state = node.StoppedAtUtc is not null ? NodeState.Stopped
            : now - node.LastHeartbeatAtUtc > LostAfter ? NodeState.Lost
            : NodeState.Online;
        var runs = state == NodeState.Stopped ? [] : node.RunningRuns
            .Select(id => runNames.TryGetValue(id, out var run) ? new NodeRun(id, run.Name, run.Device) : new NodeRun(id, id.ToString(), null)).ToList();
        return new NodeView(node.Id, node.Name, node.Host, node.IsConsole, node.Version, backend, devices, node.OfferedDevices, node.DevicesError,
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
