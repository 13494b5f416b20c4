using DeepExtension.Core;
using DeepExtension.Core.Nodes;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Tests.Nodes;

/// <summary>Worker nodes as separate processes on a real PostgreSQL (see <see cref="PostgresServer"/>).</summary>
[RequiresPostgreSql]
[OuterTier("starts worker node processes")]
public class WorkerNodeTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Worker_OnSqlite_RefusesClusteringWithAClearMessage()
    {
        await using var env = await TestEnvironment.CreateAsync();

        using var worker = WorkerNodeProcess.Start(new Dictionary<string, string> { ["DeepExtension:DataRoot"] = env.DataRoot });
        var exitCode = await worker.WaitForExitAsync(StartTimeout);

        Assert.Equal(WorkerExit.Usage, exitCode);
        Assert.Contains("needs PostgreSQL or SQL Server", worker.Output);
        Assert.Contains("Sqlite", worker.Output);
    }

    [Fact]
    public async Task Worker_BeforeTheConsoleRecordedItsDataRoot_RefusesToStart()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();

        using var worker = WorkerNodeProcess.Start(Settings(env, env.DataRoot, "early"));
        var exitCode = await worker.WaitForExitAsync(StartTimeout);

        Assert.Equal(WorkerExit.Failed, exitCode);
        Assert.Contains("start the console once", worker.Output);
    }

    [Fact]
    public async Task Worker_WithAnotherDataRoot_RefusesToStartWithAClearMessage()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();
        await Marker(env).EnsureAsync();
        var otherRoot = Path.Combine(env.DataRoot, "not-the-console-root");
        Directory.CreateDirectory(otherRoot);
        // A data root of another installation: its own marker with another id.
        await File.WriteAllTextAsync(Path.Combine(otherRoot, DataRootMarker.FileName), Guid.NewGuid().ToString());

        using var missing = WorkerNodeProcess.Start(Settings(env, Path.Combine(env.DataRoot, "empty-root"), "missing"));
        using var other = WorkerNodeProcess.Start(Settings(env, otherRoot, "other"));

        Assert.Equal(WorkerExit.Failed, await missing.WaitForExitAsync(StartTimeout));
        Assert.Equal(WorkerExit.Failed, await other.WaitForExitAsync(StartTimeout));
        Assert.Contains("Wrong data root", missing.Output);
        Assert.Contains("does not exist", missing.Output);
        Assert.Contains("Wrong data root", other.Output);
        var consoleRootId = (await File.ReadAllTextAsync(Marker(env).FilePath)).Trim();
        Assert.Contains(consoleRootId, other.Output);
        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.Empty(await db.WorkerNodes.ToListAsync());
    }

    [Fact]
    public async Task TwoWorkers_OnPostgres_RegisterHeartbeatAndAKilledOneReadsLost()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();
        await Marker(env).EnsureAsync();
        var nodes = new NodeService(env.DbFactory, Configuration(new() { [NodeService.LostAfterKey] = "3" }), TimeProvider.System);

        using var first = WorkerNodeProcess.Start(Settings(env, env.DataRoot, "node-a"));
        using var second = WorkerNodeProcess.Start(Settings(env, env.DataRoot, "node-b"));
        var both = await WaitForAsync(nodes, list =>
            list.Count(n => n.State == NodeState.Online && n.Devices.Count > 0) == 2, first, second);

        Assert.Equal(["node-a", "node-b"], both.Select(n => n.Name).Order());
        Assert.All(both, n =>
        {
            Assert.False(n.IsConsole);
            Assert.Equal("cpu", n.Devices[0].Kind);
            Assert.Equal(n.Slots, n.FreeSlots);
            Assert.Empty(n.Runs);
            Assert.NotEmpty(n.Version);
        });
        Assert.NotEqual(both[0].Id, both[1].Id);

        var beatBefore = both.Single(n => n.Name == "node-b").LastHeartbeatAtUtc;
        first.KillHard();
        var after = await WaitForAsync(nodes, list => list.Any(n => n.Name == "node-a" && n.State == NodeState.Lost), second);

        Assert.Equal(NodeState.Lost, after.Single(n => n.Name == "node-a").State);
        var survivor = after.Single(n => n.Name == "node-b");
        Assert.Equal(NodeState.Online, survivor.State);
        Assert.True(survivor.LastHeartbeatAtUtc > beatBefore, "The surviving node keeps beating.");
    }

    private static DataRootMarker Marker(TestEnvironment env) => new(env.DbFactory, env.Directories, TimeProvider.System);

    private static Dictionary<string, string> Settings(TestEnvironment env, string dataRoot, string name)
    {
        var settings = WorkerNodeProcess.Settings(env, name);
        settings[$"{DeepExtensionOptions.SectionName}:DataRoot"] = dataRoot;
        settings.Remove(NodeDevices.DevicesKey); // these nodes report the devices they detect
        return settings;
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    /// <summary>Polls the nodes list until <paramref name="done"/>; fails with the workers' output when a worker exits or time runs out.</summary>
    private static async Task<IReadOnlyList<NodeView>> WaitForAsync(NodeService nodes, Func<IReadOnlyList<NodeView>, bool> done, params WorkerNodeProcess[] workers)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        IReadOnlyList<NodeView> list = [];
        while (DateTime.UtcNow < deadline)
        {
            list = await nodes.ListAsync();
            if (done(list)) return list;
            if (workers.FirstOrDefault(w => w.HasExited) is { } exited)
            {
                Assert.Fail($"A worker exited ({exited.ExitCode}):\n{exited.Output}");
            }
            await Task.Delay(250);
        }
        Assert.Fail($"Timed out; nodes: {string.Join(", ", list.Select(n => $"{n.Name} {n.State} devices={n.Devices.Count}"))}\n" +
                    string.Join("\n---\n", workers.Select(w => w.Output)));
        return list;
    }
}
