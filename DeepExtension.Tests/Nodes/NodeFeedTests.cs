using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Faults;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Nodes;

/// <summary>
/// Live data across machines: a worker node sends its runs' metric and log lines to the console's hub
/// (<see cref="NodeFeed"/>), which takes only the configured node key and puts them into the live store the pages read.
/// </summary>
[RequiresPostgreSql]
[OuterTier("starts worker node processes")]
[Collection(TrainingCollection.Name)]
public sealed class NodeFeedTests
{
    private const string Key = "a-node-key-for-the-tests";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task NodeHub_WithoutTheConsolesKey_IsRefused401AndWithTheKeyItsLinesReachTheLiveStore()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        await using var console = ConsoleHost.Start(env.DataRoot, settings: new Dictionary<string, string?> { [NodeFeed.KeyKey] = Key });

        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(console.Address, key: null));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(console.Address, key: "not-the-key"));
        // Not a user's endpoint either: a signed-in user without the key is refused too.
        using var signedIn = console.CreateLoopbackClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await signedIn.PostAsync(NodeFeed.HubPath + "/negotiate?negotiateVersion=1", null)).StatusCode);

        await using var node = Connection(console.Address, Key);
        await node.StartAsync();
        var runId = Guid.NewGuid();
        var lines = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(1, 3).Select(s =>
            new MetricPoint(s, 0, s, new Dictionary<string, double> { ["loss"] = 4.0 - s }).ToJsonLine() + "\n")));
        var ack = await node.InvokeAsync<NodeLinesAck>(NodeFeed.AppendMethod, new NodeLines(runId, RunFileKind.Metrics, 0, false, lines));

        Assert.Equal(new NodeLinesAck(lines.Length, 3), ack);
        var live = console.Services.GetRequiredService<LiveRunStore>();
        var files = new RunFiles(Path.Combine(env.DataRoot, DeepExtension.Core.Storage.DataDirectories.RelativeRunFolder(runId)));
        using var watch = live.Subscribe(files, () => Task.CompletedTask);
        Assert.Equal(3, watch.Run.PointCount);
        Assert.Equal(3, watch.Run.PointsFromNodes);
        Assert.Equal(1.0, watch.Run.Summary.LastLoss);
    }

    [Fact]
    public async Task NodeHub_ConsoleWithoutAKey_RefusesEveryNode401()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        await using var console = ConsoleHost.Start(env.DataRoot);

        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(console.Address, key: Key));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(console.Address, key: ""));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(console.Address, key: null));
    }

    /// <summary>
    /// The console (real Kestrel, PostgreSQL, its scheduler off) reads a fed run's files only after an hour without lines
    /// from its node, so every point its live store gets while the run trains came through the hub. The network between
    /// the node and the console is cut mid-run: the store stops growing while the run's file grows, and after the
    /// connection is back the node resends from the last acknowledged position: each step once, in order.
    /// </summary>
    [Fact]
    public async Task RunOnANode_ConnectionCutMidRun_ItsPointsReachTheConsolesLiveStoreThroughTheHubEachStepOnceInOrder()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync(migrate: false);
        await using var console = ConsoleHost.Start(env.DataRoot, settings: new Dictionary<string, string?>
        {
            [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = "PostgreSql",
            [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
            [JobsHostingExtensions.SchedulerEnabledKey] = "false",
            [NodeFeed.KeyKey] = Key,
            [NodeFeed.FileFallbackSecondsKey] = "3600",
        });
        await using var network = new TcpRelay(new Uri(console.Address).Port);
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        using var node = WorkerNodeProcess.Start(NodeSettings(env, "node-a", network.Address, Key));
        var runs = console.Services.GetRequiredService<TrainingRunService>();
        var live = console.Services.GetRequiredService<LiveRunStore>();

        var started = await runs.StartAsync(new NewTrainRequest("remote", model.Id, version.Id, method.Id, TrainingHost.EndlessSft(saveEvery: 3), "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var files = runs.FilesOf(started.Value!);
        var told = 0;
        using var watch = live.Subscribe(files, () => { Interlocked.Increment(ref told); return Task.CompletedTask; });
        var run = watch.Run;

        await WaitAsync(() => run.PointCount >= 5, () => $"{run.PointCount} points in the console's store", node);
        Assert.Equal(run.PointCount, run.PointsFromNodes);
        Assert.True(run.LogLinesFromNodes > 0);
        await WaitForOutputAsync(node, "Connected to the console's hub");

        network.Cut();
        var heldAtCut = run.PointCount;
        // The run goes on writing its file; the console, fed by the node until now, does not read it.
        await WaitAsync(() => FilePoints(files) >= heldAtCut + 8, () => $"{FilePoints(files)} points in the file", node);
        // (A message already on its way when the network went down may still have landed.)
        Assert.True(run.PointCount <= heldAtCut + 3, $"{run.PointCount} points in the store with the network cut at {heldAtCut}");
        network.Restore();

        await WaitAsync(() => run.PointCount >= FilePoints(files) - 1 && run.PointCount > heldAtCut + 8,
            () => $"{run.PointCount} points in the store, {FilePoints(files)} in the file", node);
        await WaitForOutputAsync(node, "resending from the last acknowledged lines");
        var cancelled = await runs.CancelAsync(started.Value!.Id);
        Assert.True(cancelled.Succeeded, cancelled.AllErrors);
        await WaitAsync(async () => (await runs.GetAsync(started.Value!.Id))!.IsFinished, () => "the run to end", node);
        await WaitAsync(() => run.PointCount == FilePoints(files), () => $"{run.PointCount} points in the store, {FilePoints(files)} in the file", node);

        OwnershipFaultTests.AssertEachStepOnceInOrder(files);
        var fileSteps = MetricsFile.ReadAll(files).Select(p => p.Step).ToArray();
        var storeSteps = run.Series(MetricPoint.Keys.Loss, MetricAxis.Step, 0, maxPoints: 100_000).Points.Select(p => (long)p[0]!.Value).ToArray();
        Assert.Equal(fileSteps, storeSteps);
        Assert.Equal(run.PointCount, run.PointsFromNodes);
        Assert.True(network.Connections >= 2, "The node connected again after the cut.");
        Assert.True(told > 5, "The store told its watcher as points arrived.");

        // A node with another key is refused, and says why.
        using var intruder = WorkerNodeProcess.Start(NodeSettings(env, "node-x", console.Address, "not-the-key"));
        await WaitForOutputAsync(intruder, "refused this node's key (401)");
    }

    private static async Task<HttpStatusCode?> RefusalAsync(string address, string? key)
    {
        await using var connection = Connection(address, key);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());
        return refused.StatusCode;
    }

    private static HubConnection Connection(string address, string? key) => new HubConnectionBuilder()
        .WithUrl(new Uri(new Uri(address), NodeFeed.HubPath), options =>
        {
            if (key is not null) options.Headers[NodeFeed.KeyHeader] = key;
        })
        .Build();

    private static int FilePoints(RunFiles files) => File.Exists(files.MetricsPath) ? MetricsFile.ReadAll(files).Count : 0;

    private static Dictionary<string, string> NodeSettings(TestEnvironment env, string name, string consoleUrl, string key)
    {
        var settings = WorkerNodeProcess.Settings(env, name);
        settings[WorkLimits.RetrySecondsKey] = "0.5";
        settings[JobsHostingExtensions.ClusterCheckinKey] = "2";
        settings[NodeFeed.ConsoleUrlKey] = consoleUrl;
        settings[NodeFeed.KeyKey] = key;
        return settings;
    }

    private static Task WaitForOutputAsync(WorkerNodeProcess node, string text) =>
        WaitAsync(() => node.Output.Contains(text, StringComparison.Ordinal), () => $"\"{text}\" in the node's output", node);

    private static Task WaitAsync(Func<bool> done, Func<string> state, WorkerNodeProcess node) => WaitAsync(() => Task.FromResult(done()), state, node);

    private static async Task WaitAsync(Func<Task<bool>> done, Func<string> state, WorkerNodeProcess node)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await done())
        {
            if (node.HasExited) Assert.Fail($"The node exited ({node.ExitCode}) waiting for {state()}:\n{node.Output}");
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting for {state()}:\n{string.Join("\n", node.Output.Split('\n').TakeLast(60))}");
            await Task.Delay(100);
        }
    }
}
