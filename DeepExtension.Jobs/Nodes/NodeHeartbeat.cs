using System.Reflection;
using DeepExtension.Core.Data;
using DeepExtension.Core.Nodes;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Work;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace DeepExtension.Jobs.Nodes;

/// <summary>Whether this process is a console that also schedules, or a worker node (<c>DeepExtension.Jobs worker</c>).</summary>
public sealed record NodeRole(bool IsConsole);

/// <summary>This node's name: <c>DeepExtension:Nodes:Name</c>, else the machine's.</summary>
public sealed class NodeIdentity(IConfiguration configuration)
{
    public const string NameKey = "DeepExtension:Nodes:Name";

    public string Name => configuration[NameKey] is { Length: > 0 } name ? name : Environment.MachineName;
}

/// <summary>
/// Keeps this node's row in the nodes table: written when its scheduler starts (name, host, devices, slots, version),
/// beaten every <see cref="NodeService.HeartbeatInterval"/> with its free slots and the runs executing here, and marked
/// stopped on a clean shutdown. A node whose beats stop without that mark reads as lost.
/// </summary>
public sealed class NodeHeartbeat(
    IDbContextFactory<DeepExtensionDbContext> dbFactory, ISchedulerFactory schedulers, TrainingDevices devices, NodeDevices offered,
    NodeIdentity identity, NodeService nodes, NodeRole role, IConfiguration configuration, TimeProvider clock, ILogger<NodeHeartbeat> logger)
    : BackgroundService
{
    public const string NameKey = NodeIdentity.NameKey;
    static readonly TimeSpan DevicesInterval = TrainingDevicesReporter.Interval;

    private string? _id;

    public static string Version { get; } =
        typeof(NodeHeartbeat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(NodeHeartbeat).Assembly.GetName().Version?.ToString() ?? "";

    private int PerDevice => Math.Max(1, configuration.GetValue(RunSlots.MaxConcurrentKey, 1));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var scheduler = await schedulers.GetScheduler(stoppingToken);
            _id = scheduler.SchedulerInstanceId;
            await RegisterAsync(stoppingToken);
            var nextDevices = DateTimeOffset.MinValue;
            while (!stoppingToken.IsCancellationRequested)
            {
                if (clock.GetUtcNow() >= nextDevices)
                {
                    nextDevices = clock.GetUtcNow() + DevicesInterval;
                    // Reading the devices starts a worker process that loads libtorch: seconds, so it runs beside the beats.
                    _ = Task.Run(() => RefreshDevicesAsync(stoppingToken), stoppingToken);
                }
                await BeatAsync(scheduler, stoppingToken);
                await Task.Delay(nodes.HeartbeatInterval, clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_id is null) return;
        try
        {
            await UpdateAsync(node => node.StoppedAtUtc = clock.GetUtcNow().UtcDateTime, cancellationToken);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException or OperationCanceledException)
        {
            logger.LogWarning(e, "Node {Node} could not record its stop; it will read as lost", _id);
        }
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.WorkerNodes.Add(new WorkerNode
        {
            Id = _id!,
            Name = identity.Name,
            Host = System.Net.Dns.GetHostName(),
            IsConsole = role.IsConsole,
            Version = Version,
            DeviceKinds = string.Join(',', offered.Offered),
            Slots = PerDevice * offered.Offered.Count,
            FreeSlots = PerDevice * offered.Offered.Count,
            StartedAtUtc = now,
            LastHeartbeatAtUtc = now,
        });
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Node {Node} registered ({Role})", _id, role.IsConsole ? "console" : "worker");
    }

    private async Task BeatAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        var trainGroup = QuartzWorkQueue.GroupOf(Core.Work.WorkKind.Train);
        // The firings this node is running, as the job store records them; a train's job is named by its run id.
        var running = (await scheduler.QueryFireInstances(new FireInstanceQuery { SchedulerInstanceId = _id }, cancellationToken)).Items
            .Where(f => f.JobKey?.Group == trainGroup)
            .Select(f => Guid.TryParse(f.JobKey!.Name, out var id) ? id : (Guid?)null)
            .OfType<Guid>().Distinct().ToList();
        try
        {
            await UpdateAsync(node =>
            {
                node.LastHeartbeatAtUtc = clock.GetUtcNow().UtcDateTime;
                node.RunningRunIds = string.Join(',', running);
                node.FreeSlots = Math.Max(0, node.Slots - running.Count);
            }, cancellationToken);
        }
        catch (DbUpdateException e)
        {
            // A database that is briefly away costs one beat, not the node.
            logger.LogWarning(e, "Node {Node} missed a heartbeat", _id);
        }
    }

    private async Task RefreshDevicesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var snapshot = await devices.RefreshAsync(cancellationToken);
            var kinds = offered.Offered;
            await UpdateAsync(node =>
            {
                node.DevicesJson = snapshot.Report?.ToJson();
                node.DevicesError = snapshot.Error is { } error ? error[..Math.Min(error.Length, 1000)] : null;
                node.DeviceKinds = string.Join(',', kinds);
                node.Slots = PerDevice * kinds.Count;
            }, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            logger.LogWarning(e, "Node {Node} could not record its devices", _id);
        }
    }

    private async Task UpdateAsync(Action<WorkerNode> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var node = await db.WorkerNodes.FirstOrDefaultAsync(n => n.Id == _id, cancellationToken)
                   ?? throw new InvalidOperationException($"Node {_id} has no row.");
        change(node);
        await db.SaveChangesAsync(cancellationToken);
    }
}
