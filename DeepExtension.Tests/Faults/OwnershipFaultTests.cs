using System.Diagnostics;
using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, fault 1: <c>kill -9</c> of the console while run A trains and run B waits left A's worker training as an
/// orphan, and the restarted console started a second worker for A (and B beside it on the same device). Reproduced
/// with a scheduler node process (the console's Quartz and worker launcher, in its own process so that it can be
/// killed), real workers and SQLite; the restarted console is the console's services and scheduler in this process.
/// </summary>
[OuterTier("starts worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class OwnershipFaultTests
{
    private static readonly Dictionary<string, string?> FastLeases = new()
    {
        [WorkLimits.LeaseSecondsKey] = "15",
        [WorkLimits.RetrySecondsKey] = "1",
    };

    [Fact]
    public async Task KilledConsole_OrphanCheckpointsAndExitsAndTheRestartedConsoleAdoptsTheRunWithOneWorkerAtATime()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        Guid first, other;
        // Queued in the job store by a console whose scheduler does not run; the node started next executes them.
        await using (var queueing = await TrainingHost.StartAsync(env, new Dictionary<string, string?> { [JobsHostingExtensions.SchedulerEnabledKey] = "false" }))
        {
            first = (await queueing.Runs.StartAsync(new NewTrainRequest("run-1", model.Id, version.Id, method.Id, TrainingHost.EndlessSft(saveEvery: 5, maxTokens: 64, loraR: 8), "cpu"))).Value!.Id;
            other = (await queueing.Runs.StartAsync(new NewTrainRequest("run-2", model.Id, version.Id, method.Id, TrainingHost.EndlessSft(saveEvery: 5, maxTokens: 64, loraR: 8), "cpu"))).Value!.Id;
            await (await queueing.Host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler()).Shutdown();
        }
        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        using var workers = new WorkerCensus([first, other]);

        // Either may take the one CPU slot: A is the one that trains, B the one that waits.
        using var console = StartSchedulerNode(env);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        TrainingRun? training;
        while ((training = (await Task.WhenAll(runs.GetAsync(first), runs.GetAsync(other))).FirstOrDefault(r => r!.Step >= 3)) is null)
        {
            var ended = (await Task.WhenAll(runs.GetAsync(first), runs.GetAsync(other))).FirstOrDefault(r => r!.IsFinished);
            if (DateTime.UtcNow > deadline || ended is not null)
            {
                Assert.Fail($"Neither run reached step 3 ({ended?.Status}: {ended?.FailureReason}). Scheduler node:\n{NodeLogTail(env)}\n" +
                    string.Join("\n", new[] { first, other }.Select(id => Path.Combine(env.Directories.Root, "runs", id.ToString("N"), "train.log.jsonl"))
                        .Where(File.Exists).Select(File.ReadAllText)));
            }
            await Task.Delay(200);
        }
        var (a, b) = training.Id == first ? (first, other) : (other, first);
        var killedAt = training.Step;
        var orphan = Assert.Single(WorkerCensus.WorkersOf(a));
        Assert.Equal(WorkStatus.Queued, (await runs.GetAsync(b))!.Status);

        console.Kill(); // SIGKILL: nothing of the console's own shutdown runs.
        await console.WaitForExitAsync();
        using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await orphan.WaitForExitAsync(exited.Token); // The orphan noticed, checkpointed and exited.
        }
        Assert.Contains(File.ReadAllLines(runs.FilesOf((await runs.GetAsync(a))!).LogPath), l => l.Contains("The console that started this worker is gone"));

        await using var restarted = await TrainingHost.StartAsync(env, FastLeases);
        await restarted.Runs.CancelAsync(b);
        await restarted.WaitForAsync(b, r => r.IsFinished, TimeSpan.FromMinutes(2));
        var adopted = await restarted.WaitForAsync(a, r => r.Attempts == 2 && r.Status == WorkStatus.Running && r.Step > killedAt + 3, TimeSpan.FromMinutes(3));
        // The orphan trained on past killedAt before it noticed: wait for points of the adopter's own lease.
        await WaitForPointsOfLeaseAsync(restarted.Runs.FilesOf(adopted), minToken: 2, count: 3);

        // A second worker for the run, started by hand while the console's worker trains it, is refused and writes nothing.
        var second = await RunWorkerByHandAsync(env, a);
        Assert.Equal(WorkerExit.LeaseLost, second.ExitCode);
        Assert.Contains("owned by another process", second.Error);

        await restarted.Runs.CancelAsync(a);
        var done = await restarted.WaitForAsync(a, r => r.IsFinished, TimeSpan.FromMinutes(1));
        Assert.Equal(WorkStatus.Cancelled, done.Status);
        var files = restarted.Runs.FilesOf(done);
        AssertEachStepOnceInOrder(files);
        Assert.Contains(File.ReadAllLines(files.LogPath), l => l.Contains("Resuming from step-"));
        await using var db = await env.DbFactory.CreateDbContextAsync();
        var lease = (await db.WorkLeases.FindAsync(WorkKind.Train, a))!;
        // Taken by the killed console, then by the restarted one (a firing that has to wait for its turn takes the lease
        // and gives it back, so the token may be higher): the killed console's points carry token 1, the adopter's the later one.
        Assert.True(lease.Token >= 2, $"lease token {lease.Token}");
        var tokens = MetricsFile.ReadAll(files).Select(p => p.LeaseToken).ToList();
        Assert.Equal(1, tokens[0]);
        Assert.True(tokens[^1] >= 2 && tokens[^1] <= lease.Token, $"last point's token {tokens[^1]}, lease token {lease.Token}; metrics.jsonl:\n{string.Join("\n", File.ReadAllLines(files.MetricsPath).Select(Brief))}\nlog:\n{string.Join("\n", File.ReadAllLines(files.LogPath))}");
        Assert.True(workers.MaxPerRun <= 1, $"{workers.MaxPerRun} workers at once for one run");
        Assert.True(workers.MaxTotal <= 1, $"{workers.MaxTotal} trainings at once on the one CPU slot");
        Assert.True(adopted.Step > killedAt);
    }

    [Fact]
    public async Task Lease_HeldByAnotherOwner_IsRefusedUntilItExpiresThenTakenWithTheNextToken()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var clock = new ManualClock();
        var leases = new WorkLeaseStore(env.DbFactory, clock);
        var id = Guid.NewGuid();

        var first = await leases.TryAcquireAsync(WorkKind.Train, id, "node-1", TimeSpan.FromSeconds(2));
        Assert.Equal(1, first!.Token);
        Assert.Null(await leases.TryAcquireAsync(WorkKind.Train, id, "node-2", TimeSpan.FromSeconds(2)));
        Assert.NotNull(await leases.TryAcquireAsync(WorkKind.Save, id, "node-2", TimeSpan.FromSeconds(2))); // Another kind, another lease.
        Assert.NotNull(await leases.RenewAsync(first, TimeSpan.FromSeconds(1)));

        clock.Advance(TimeSpan.FromSeconds(1.5));
        var second = await leases.TryAcquireAsync(WorkKind.Train, id, "node-2", TimeSpan.FromSeconds(30));
        Assert.Equal(2, second!.Token);
        Assert.Null(await leases.RenewAsync(first, TimeSpan.FromSeconds(30))); // The fenced-off holder cannot renew.
        await leases.ReleaseAsync(first); // Nor release the new holder's lease.
        Assert.True((await leases.GetAsync(WorkKind.Train, id))!.IsHeldAt(clock.GetUtcNow().UtcDateTime));
        await leases.ReleaseAsync(second);
        Assert.Equal(3, (await leases.TryAcquireAsync(WorkKind.Train, id, "node-3", TimeSpan.FromSeconds(30)))!.Token);
    }

    [Fact]
    public async Task Lease_ExpiredButNotYetTaken_IsNotRenewedByItsOldHolder()
    {
        // A holder frozen past its expiry wakes up before anyone took the lease: reviving it would give the item two
        // owners as soon as another node, which read the lease as expired a moment before, takes it.
        await using var env = await TestEnvironment.CreateAsync();
        var clock = new ManualClock();
        var leases = new WorkLeaseStore(env.DbFactory, clock);
        var id = Guid.NewGuid();
        var held = await leases.TryAcquireAsync(WorkKind.Train, id, "node-1", TimeSpan.FromSeconds(6));

        clock.Advance(TimeSpan.FromSeconds(5));
        held = await leases.RenewAsync(held!, TimeSpan.FromSeconds(6)); // in time: renewed
        Assert.NotNull(held);
        clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Null(await leases.RenewAsync(held!, TimeSpan.FromSeconds(6))); // too late, though nobody took it yet
        Assert.Equal(2, (await leases.TryAcquireAsync(WorkKind.Train, id, "node-2", TimeSpan.FromSeconds(6)))!.Token);
    }

    /// <summary>Waits until the run's metrics hold <paramref name="count"/> points written under a lease token of at least <paramref name="minToken"/>.</summary>
    internal static async Task WaitForPointsOfLeaseAsync(RunFiles files, long minToken, int count, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (MetricsFile.ReadAll(files).Count(p => p.LeaseToken >= minToken) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{count} points of lease {minToken} or later in {files.MetricsPath} within 2 minutes. {state?.Invoke()}");
            await Task.Delay(200);
        }
    }

    /// <summary>The curve has each step exactly once, in order, with the training time never going back.</summary>
    internal static void AssertEachStepOnceInOrder(RunFiles files)
    {
        var points = MetricsFile.ReadAll(files).Where(p => p["loss"] is not null).ToList();
        Assert.NotEmpty(points);
        var steps = points.Select(p => p.Step).ToList();
        // On failure, the file as written (each line's step and lease token) and the run's log say who wrote what.
        Assert.True(steps.SequenceEqual(Enumerable.Range(1, points.Count).Select(i => (long)i)),
            $"steps {string.Join(",", steps)}\nmetrics.jsonl:\n{string.Join("\n", File.ReadAllLines(files.MetricsPath).Select(Brief))}\n" +
            $"log:\n{string.Join("\n", File.Exists(files.LogPath) ? File.ReadAllLines(files.LogPath) : [])}");
        Assert.All(points.Zip(points.Skip(1)), pair => Assert.True(pair.Second.ElapsedSeconds >= pair.First.ElapsedSeconds,
            $"elapsed went back at step {pair.Second.Step}"));
    }

    /// <summary>A metrics line without its values: step and lease token (or the whole line when it is not a point).</summary>
    private static string Brief(string line) =>
        MetricPoint.ParseJsonLine(line) is { } p ? $"step {p.Step} token {p.LeaseToken?.ToString() ?? "-"}" : line;

    private static string NodeLogTail(TestEnvironment env) =>
        File.Exists(Path.Combine(env.DataRoot, NodeLog)) ? string.Join("\n", File.ReadAllLines(Path.Combine(env.DataRoot, NodeLog)).TakeLast(40)) : "(no output)";

    /// <summary>A scheduler node (<c>DeepExtension.Jobs scheduler</c>): the console's scheduler and launcher in a process of its own.</summary>
    private static Process StartSchedulerNode(TestEnvironment env)
    {
        var process = Process.Start(JobsProcess.StartInfo(env, FastLeases, "scheduler"))!;
        var log = Path.Combine(env.DataRoot, NodeLog);
        void Append(string? line)
        {
            if (line is null) return;
            lock (process) File.AppendAllLines(log, [line]);
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private const string NodeLog = "scheduler-node.log";

    private const string ByHandArgument = "--DeepExtension:Test:StartedByHand=true";

    // Marked on its command line so that the census, which counts the console's workers, tells it apart.
    private static Task<(int ExitCode, string Error)> RunWorkerByHandAsync(TestEnvironment env, Guid runId) =>
        JobsProcess.RunAsync(JobsProcess.StartInfo(env, FastLeases, "train", "--run", runId.ToString(), ByHandArgument), TimeSpan.FromMinutes(1));

    /// <summary>A clock that moves only when told (lease expiry without waiting on a loaded machine).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>Counts training workers every 100 ms while the test runs, per run and in all.</summary>
    private sealed class WorkerCensus : IDisposable
    {
        private readonly Guid[] _runs;
        private readonly Timer _timer;

        public WorkerCensus(Guid[] runs)
        {
            _runs = runs;
            _timer = new Timer(_ => Count(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
        }

        public int MaxPerRun { get; private set; }
        public int MaxTotal { get; private set; }

        public static List<Process> WorkersOf(Guid runId) =>
            Process.GetProcesses().Where(p => p.ProcessName.StartsWith("DeepExtension.J", StringComparison.Ordinal) && CommandLineOf(p) is var line
                && line.Contains($"train\0--run\0{runId}", StringComparison.Ordinal) && !line.Contains(ByHandArgument, StringComparison.Ordinal))
                .ToList();

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

        private void Count()
        {
            var counts = _runs.Select(r => WorkersOf(r).Count).ToList();
            lock (_runs)
            {
                MaxPerRun = Math.Max(MaxPerRun, counts.Max());
                MaxTotal = Math.Max(MaxTotal, counts.Sum());
            }
        }

        public void Dispose() => _timer.Dispose();
    }
}
