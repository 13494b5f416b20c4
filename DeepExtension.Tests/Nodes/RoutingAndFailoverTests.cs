using System.Diagnostics;
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
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Tests.Nodes;

/// <summary>
/// Runs routed to worker nodes by device, and a run recovered from a dead (or frozen) node by another: two
/// <c>DeepExtension.Jobs worker</c> processes on a real PostgreSQL, training in real worker processes. The nodes offer
/// the CPU only (<see cref="NodeDevices.DevicesKey"/>: this machine has no GPU).
/// </summary>
[RequiresPostgreSql]
[OuterTier("starts worker node processes")]
[Collection(TrainingCollection.Name)]
public sealed class RoutingAndFailoverTests
{
    // Generous: ten workers each load libtorch, on a machine that may be loaded.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task TenCpuRuns_OnTwoNodes_SpreadOverBothWithinEachDevicesSlotsAndACudaRunWaits()
    {
        await using var cluster = await Cluster.StartAsync();
        using var a = cluster.StartNode("node-a", slotsPerDevice: 1);
        using var b = cluster.StartNode("node-b", slotsPerDevice: 2);
        await cluster.WaitForNodesAsync(2, a, b);

        var cuda = await cluster.QueueAsync("wants-cuda", ShortSft(), "cuda");
        var ids = new List<Guid>();
        for (var i = 0; i < 10; i++) ids.Add(await cluster.QueueAsync($"cpu-{i}", ShortSft(), i % 2 == 0 ? "cpu" : "auto"));
        var done = await cluster.WaitForAllAsync(ids, r => r.IsFinished, a, b);

        Assert.All(done, r => Assert.True(r.Status == WorkStatus.Succeeded, $"{r.Name}: {r.Status} {r.FailureReason}"));
        Assert.All(done, r => Assert.Equal("cpu", r.DeviceUsed)); // "auto" on a node without a GPU trains on its CPU.
        Assert.Equal(["node-a", "node-b"], done.Select(r => r.NodeName!).Distinct().Order());
        // Each run held its slot from its start to its end: at no moment more runs on a node's CPU than it allows.
        Assert.True(MaxOverlap(done.Where(r => r.NodeName == "node-a")) <= 1, Timeline(done));
        Assert.True(MaxOverlap(done.Where(r => r.NodeName == "node-b")) <= 2, Timeline(done));

        // The run that asks for a GPU was never started by these CPU-only nodes; the train page says why it waits.
        var waiting = (await cluster.Runs.GetAsync(cuda))!;
        Assert.Equal(WorkStatus.Queued, waiting.Status);
        Assert.Equal(0, waiting.Attempts);
        Assert.Null(waiting.NodeName);
        var why = await cluster.Nodes.WhyWaitingAsync(waiting);
        Assert.Contains("Waiting for a node with a CUDA GPU", why);
        Assert.Contains("node-a: cpu", why);
        var nodes = await cluster.Nodes.ListAsync();
        Assert.All(nodes, n => Assert.Equal(["cpu"], n.OfferedDevices));
    }

    [Fact]
    public async Task KilledNode_ItsRunIsRecoveredByTheOtherNodeFromItsCheckpointWithEachStepOnceInOrder()
    {
        await using var cluster = await Cluster.StartAsync();
        using var a = cluster.StartNode("node-a", slotsPerDevice: 1);
        using var b = cluster.StartNode("node-b", slotsPerDevice: 1);
        await cluster.WaitForNodesAsync(2, a, b);
        var nodes = new Dictionary<string, WorkerNodeProcess> { ["node-a"] = a, ["node-b"] = b };

        var id = await cluster.QueueAsync("long", TrainingHost.EndlessSft(saveEvery: 3), "cpu");
        var first = await cluster.WaitForAsync(id, r => r.Status == WorkStatus.Running && r.Step >= 7 && r.DeviceUsed == "cpu", a, b);
        var lost = nodes[first.NodeName!];
        var other = nodes.Single(n => n.Value != lost);

        // Power loss (the node and its worker, SIGKILL): nothing of it can write again; the other node recovers the run.
        lost.KillHard();
        var recovered = await cluster.WaitForAsync(id, r => r.NodeName == other.Key && r.Attempts == 2 && r.Step > first.Step + 3, other.Value);
        await OwnershipFaultTests.WaitForPointsOfLeaseAsync(cluster.Runs.FilesOf(recovered), minToken: 2, count: 3, () => other.Value.Output);

        Assert.Equal(WorkStatus.Cancelled, (await cluster.CancelAsync(id, other.Value)).Status);
        var files = cluster.Runs.FilesOf(recovered);
        OwnershipFaultTests.AssertEachStepOnceInOrder(files);
        Assert.Single(File.ReadAllLines(files.LogPath), l => l.Contains("Resuming from step-"));
    }

    // A worker frozen (SIGSTOP) between its lease check and its append finishes that append when it is thawed, after the
    // other node took the run over (found by this test in CI: steps 11, 12, 11, 13). Each point carries its lease token and
    // every reader leaves out a point of an older token than one before it (LeaseFence, LeaseFencingTests).
    [Fact]
    public async Task FrozenNodeThenKilledNode_TheirRunIsRecoveredEachTimeFromItsCheckpointAndTheFrozenOneNeverWritesAgain()
    {
        await using var cluster = await Cluster.StartAsync();
        using var a = cluster.StartNode("node-a", slotsPerDevice: 1);
        using var b = cluster.StartNode("node-b", slotsPerDevice: 1);
        await cluster.WaitForNodesAsync(2, a, b);
        var nodes = new Dictionary<string, WorkerNodeProcess> { ["node-a"] = a, ["node-b"] = b };

        var id = await cluster.QueueAsync("long", TrainingHost.EndlessSft(saveEvery: 3), "cpu");
        var first = await cluster.WaitForAsync(id, r => r.Status == WorkStatus.Running && r.Step >= 7 && r.DeviceUsed == "cpu", a, b);
        var frozen = nodes[first.NodeName!];
        var other = nodes.Single(n => n.Value != frozen);
        var frozenWorker = Assert.Single(WorkersOf(id));

        // A node that stops answering (frozen, cut off): its lease runs out and the other node adopts the run.
        Signal("STOP", frozen.Id, frozenWorker.Id);
        var adopted = await cluster.WaitForAsync(id, r => r.NodeName == other.Key && r.Attempts == 2 && r.Step > first.Step + 3, other.Value);
        // The frozen worker may have trained on past first.Step before the signal landed: wait for the adopter's own points.
        await OwnershipFaultTests.WaitForPointsOfLeaseAsync(cluster.Runs.FilesOf(adopted), minToken: 2, count: 3, () => other.Value.Output);
        // It comes back: its worker finds its lease taken, stops without writing, and the run goes on where it is.
        Signal("CONT", frozen.Id, frozenWorker.Id);
        using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await frozenWorker.WaitForExitAsync(exited.Token);
        await cluster.WaitForOutputAsync(frozen, "this job records nothing");
        Assert.Equal(other.Key, (await cluster.Runs.GetAsync(id))!.NodeName);
        Assert.Single(WorkersOf(id));

        // Power loss of the node that runs it now (node and worker, SIGKILL): the first node, alive again, recovers it.
        var before = (await cluster.Runs.GetAsync(id))!;
        other.Value.KillHard();
        var recovered = await cluster.WaitForAsync(id, r => r.NodeName == first.NodeName && r.Attempts == 3 && r.Step > before.Step + 3, frozen);
        await OwnershipFaultTests.WaitForPointsOfLeaseAsync(cluster.Runs.FilesOf(recovered), minToken: 3, count: 3, () => frozen.Output);

        Assert.Equal(WorkStatus.Cancelled, (await cluster.CancelAsync(id, frozen)).Status);
        var files = cluster.Runs.FilesOf(recovered);
        OwnershipFaultTests.AssertEachStepOnceInOrder(files);
        var log = File.ReadAllLines(files.LogPath);
        Assert.True(log.Count(l => l.Contains("Resuming from step-")) == 2, "Two resumes expected in the train log:\n" + string.Join("\n", log));
        Assert.Contains("lost its lease", frozen.Output + string.Join("\n", log));
        await using var db = await cluster.Env.DbFactory.CreateDbContextAsync();
        Assert.Equal(3, (await db.WorkLeases.FindAsync(WorkKind.Train, id))!.Token);
        Assert.True(adopted.Step > first.Step);
    }

    /// <summary>The most runs whose [start, end] intervals overlap at one moment.</summary>
    private static int MaxOverlap(IEnumerable<TrainingRun> runs)
    {
        var edges = runs.SelectMany(r => new[] { (At: r.StartedAtUtc!.Value, Delta: 1), (At: r.FinishedAtUtc!.Value, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta).ToList();
        int now = 0, max = 0;
        foreach (var edge in edges) max = Math.Max(max, now += edge.Delta);
        return max;
    }

    private static string Timeline(IEnumerable<TrainingRun> runs) => string.Join("\n", runs.OrderBy(r => r.StartedAtUtc)
        .Select(r => $"{r.Name} on {r.NodeName}/{r.DeviceUsed}: {r.StartedAtUtc:HH:mm:ss.fff} – {r.FinishedAtUtc:HH:mm:ss.fff}"));

    private static JsonObject ShortSft() => new()
    {
        ["num_epochs"] = 1,
        ["batch_size"] = 10,
        ["learning_rate"] = 5e-3,
        ["warmup_ratio"] = 0.0,
        ["lr_scheduler"] = "constant",
        ["max_tokens"] = 32,
        ["lora_r"] = 4,
        ["lora_alpha"] = 8,
        ["lora_dropout"] = 0.0,
        ["save_every"] = 100,
        ["save_unit"] = "steps",
    };

    private static void Signal(string signal, params int[] pids)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", .. pids.Select(p => p.ToString())]) { UseShellExecute = false })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The training workers of a run, by their command line.</summary>
    private static List<Process> WorkersOf(Guid runId) =>
        Process.GetProcesses().Where(p => p.ProcessName.StartsWith("DeepExtension.J", StringComparison.Ordinal) && CommandLineOf(p).Contains(
            $"train\0--run\0{runId}", StringComparison.Ordinal)).ToList();

    private static string CommandLineOf(Process process)
    {
        try
        {
            return File.ReadAllText($"/proc/{process.Id}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>A PostgreSQL database and data root, a console that only queues (its scheduler off), and worker nodes.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private readonly TrainingHost _console;
        private readonly (Guid Model, Guid Version, Guid Method) _ids;

        private Cluster(TestEnvironment env, TrainingHost console, (Guid, Guid, Guid) ids)
        {
            Env = env;
            _console = console;
            _ids = ids;
            Nodes = new NodeService(env.DbFactory, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                [NodeService.LostAfterKey] = "5",
            }).Build(), TimeProvider.System);
        }

        public TestEnvironment Env { get; }
        public TrainingRunService Runs => _console.Runs;
        public NodeService Nodes { get; }

        public static async Task<Cluster> StartAsync()
        {
            var env = await TestEnvironment.CreateOnPostgresAsync();
            try
            {
                await new DataRootMarker(env.DbFactory, env.Directories, TimeProvider.System).EnsureAsync();
                var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
                var console = await TrainingHost.StartAsync(env, new Dictionary<string, string?>
                {
                    [JobsHostingExtensions.SchedulerEnabledKey] = "false",
                    [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = "PostgreSql",
                    [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
                });
                return new Cluster(env, console, (model.Id, version.Id, method.Id));
            }
            catch
            {
                await env.DisposeAsync();
                throw;
            }
        }

        public WorkerNodeProcess StartNode(string name, int slotsPerDevice)
        {
            var settings = WorkerNodeProcess.Settings(Env, name);
            settings[RunSlots.MaxConcurrentKey] = slotsPerDevice.ToString();
            settings[WorkLimits.RetrySecondsKey] = "0.5";
            settings[WorkLimits.LeaseSecondsKey] = "6";
            settings[JobsHostingExtensions.ClusterCheckinKey] = "2";
            return WorkerNodeProcess.Start(settings);
        }

        public async Task<Guid> QueueAsync(string name, JsonObject parameters, string device)
        {
            var started = await Runs.StartAsync(new NewTrainRequest(name, _ids.Model, _ids.Version, _ids.Method, parameters, device));
            Assert.True(started.Succeeded, started.AllErrors);
            return started.Value!.Id;
        }

        public async Task<TrainingRun> CancelAsync(Guid id, params WorkerNodeProcess[] nodes)
        {
            var cancelled = await Runs.CancelAsync(id);
            Assert.True(cancelled.Succeeded, cancelled.AllErrors);
            return await WaitForAsync(id, r => r.IsFinished, nodes);
        }

        public async Task WaitForOutputAsync(WorkerNodeProcess node, string text) =>
            await WaitAsync(() => Task.FromResult(node.Output.Contains(text, StringComparison.Ordinal)), $"\"{text}\" in the node's output", [node]);

        public async Task WaitForNodesAsync(int count, params WorkerNodeProcess[] nodes) =>
            await WaitAsync(async () => (await Nodes.ListAsync()).Count(n => n.State == NodeState.Online) == count, "nodes online", nodes);

        public async Task<TrainingRun> WaitForAsync(Guid id, Func<TrainingRun, bool> done, params WorkerNodeProcess[] nodes) =>
            (await WaitForAllAsync([id], done, nodes))[0];

        public async Task<IReadOnlyList<TrainingRun>> WaitForAllAsync(IReadOnlyList<Guid> ids, Func<TrainingRun, bool> done, params WorkerNodeProcess[] nodes)
        {
            IReadOnlyList<TrainingRun> runs = [];
            await WaitAsync(async () =>
            {
                runs = (await Task.WhenAll(ids.Select(id => Runs.GetAsync(id)))).Select(r => r!).ToList();
                return runs.All(done);
            }, () => string.Join("\n", runs.Select(r => $"{r.Name}: {r.Status} step {r.Step} attempts {r.Attempts} on {r.NodeName}/{r.DeviceUsed} {r.FailureReason}")), nodes);
            return runs;
        }

        private static Task WaitAsync(Func<Task<bool>> done, string what, WorkerNodeProcess[] nodes) => WaitAsync(done, () => what, nodes);

        private static async Task WaitAsync(Func<Task<bool>> done, Func<string> state, WorkerNodeProcess[] nodes)
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (!await done())
            {
                if (nodes.FirstOrDefault(n => n.HasExited) is { } exited) Assert.Fail($"A node exited ({exited.ExitCode}): {state()}\n{exited.Output}");
                if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out: {state()}\n" + string.Join("\n---\n", nodes.Select(n => Tail(n.Output))));
                await Task.Delay(200);
            }
        }

        private static string Tail(string output) => string.Join("\n", output.Split('\n').TakeLast(40));

        public async ValueTask DisposeAsync()
        {
            await _console.DisposeAsync();
            await Env.DisposeAsync();
        }
    }
}
