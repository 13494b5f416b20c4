using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Nodes;

/// <summary>The cluster pitfalls Quartz documents, checked on a real PostgreSQL before a scheduler starts.</summary>
[RequiresPostgreSql]
[OuterTier("starts worker node processes")]
public sealed class ClusterGuardTests
{
    [Fact]
    public async Task ClockGuard_NodeClockOffFromTheDatabaseServer_RefusesWithTheSkewAndAcceptsASynchronisedOne()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();

        var synchronised = await Guard(env, TimeSpan.Zero).CheckClockAsync();
        var ahead = await Guard(env, TimeSpan.FromSeconds(30)).CheckClockAsync();
        var behind = await Guard(env, TimeSpan.FromSeconds(-8)).CheckClockAsync();
        var tolerated = await Guard(env, TimeSpan.FromSeconds(-8), maxSkewSeconds: 20).CheckClockAsync();

        Assert.Null(synchronised);
        Assert.Contains("clock is 30.0 s ahead of the database server's", ahead);
        Assert.Contains("at most 5 s allowed", ahead);
        Assert.Contains("behind the database server's", behind);
        Assert.Contains(ClusterGuard.MaxClockSkewKey, behind);
        Assert.Null(tolerated);
    }

    [Fact]
    public async Task UnclusteredScheduler_OnTablesAClusterNodeUses_RefusesToStartAndSaysWhy()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();
        await new DataRootMarker(env.DbFactory, env.Directories, TimeProvider.System).EnsureAsync();
        var nodes = new NodeService(env.DbFactory, new ConfigurationBuilder().Build(), TimeProvider.System);
        using var node = WorkerNodeProcess.Start(WorkerNodeProcess.Settings(env, "node-a"));
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        IReadOnlyList<NodeView> online;
        while ((online = await nodes.ListAsync()).Count == 0)
        {
            Assert.False(node.HasExited, node.Output);
            Assert.True(DateTime.UtcNow < deadline, "The node did not register:\n" + node.Output);
            await Task.Delay(250);
        }

        var refused = await Assert.ThrowsAsync<ClusterRefusedException>(() => TrainingHost.StartAsync(env, new Dictionary<string, string?>
        {
            [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = "PostgreSql",
            [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
            [JobsHostingExtensions.ClusteredKey] = "false",
        }));

        Assert.Contains("used by a cluster of schedulers", refused.Message);
        Assert.Contains(online[0].Id, refused.Message);
        Assert.Contains($"{JobsHostingExtensions.ClusteredKey}=false", refused.Message);
        Assert.False(node.HasExited, "The cluster's node goes on.");
    }

    [Fact]
    public async Task ClusterNode_WhileAnUnclusteredSchedulerRunsWorkFromItsTables_RefusesToStartAndSaysWhy()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();
        await new DataRootMarker(env.DbFactory, env.Directories, TimeProvider.System).EnsureAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        // A scheduler told not to cluster (Scheduler:Clustered=false) runs a train: its fired trigger has no check-in row.
        await using var unclustered = await TrainingHost.StartAsync(env, new Dictionary<string, string?>
        {
            [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = "PostgreSql",
            [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
            [JobsHostingExtensions.ClusteredKey] = "false",
        });
        var parameters = TrainingHost.EndlessSft();
        var started = await unclustered.Runs.StartAsync(new NewTrainRequest("unclustered", model.Id, version.Id, method.Id, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        await unclustered.WaitForAsync(started.Value!.Id, r => r.Status == WorkStatus.Running, TimeSpan.FromMinutes(1));

        using var node = WorkerNodeProcess.Start(WorkerNodeProcess.Settings(env, "node-a"));
        var exitCode = await node.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("A scheduler that is not clustered", node.Output);
        Assert.Contains($"{JobsHostingExtensions.ClusteredKey}=false", node.Output);
        Assert.Equal(WorkStatus.Running, (await unclustered.Runs.GetAsync(started.Value!.Id))!.Status); // Its train goes on.
        await unclustered.Runs.CancelAsync(started.Value!.Id);
        Assert.Equal(WorkStatus.Cancelled, (await unclustered.WaitForAsync(started.Value!.Id, r => r.IsFinished, TimeSpan.FromMinutes(1))).Status);
    }

    private static ClusterGuard Guard(TestEnvironment env, TimeSpan offset, double? maxSkewSeconds = null) =>
        new(env.Database, env.DbFactory, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [ClusterGuard.MaxClockSkewKey] = maxSkewSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build(), new ShiftedClock(offset), NullLogger<ClusterGuard>.Instance);

    /// <summary>This machine's clock moved by a fixed offset: a node whose clock runs off.</summary>
    private sealed class ShiftedClock(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }
}
