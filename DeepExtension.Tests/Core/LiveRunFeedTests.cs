using System.Text;
using DeepExtension.Core.Runs;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Core;

/// <summary>
/// Lines a worker node sends into the live store (<see cref="LiveRunStore.Append"/>): placed by their byte position in
/// the run's file, so a resend, an overlap or the file read by the store itself never doubles a point.
/// </summary>
public sealed class LiveRunFeedTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("deepx-feed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Line(long step) => new MetricPoint(step, step / 10.0, step, new Dictionary<string, double> { ["loss"] = 10 - step * 0.5 })
    {
        TotalSteps = 20,
    }.ToJsonLine() + "\n";

    private static byte[] Lines(params long[] steps) => Encoding.UTF8.GetBytes(string.Concat(steps.Select(Line)));

    private static long[] Steps(LiveRun run) => run.Series("loss", MetricAxis.Step, 0).Points.Select(p => (long)p[0]!.Value).ToArray();

    [Fact]
    public async Task Append_ResentOverlappingAndGappedLines_EachStepOnceInOrderAndTheAckSaysWhereToGoOn()
    {
        var files = new RunFiles(_directory);
        File.WriteAllBytes(files.MetricsPath, Lines(1, 2, 3));
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50), FedFileInterval = TimeSpan.FromHours(1) };
        using var watch = store.Subscribe(files, () => Task.CompletedTask);
        await WaitUntilAsync(() => watch.Run.PointCount == 3);
        long at3 = Lines(1, 2, 3).Length, at5 = Lines(1, 2, 3, 4, 5).Length, at6 = Lines(1, 2, 3, 4, 5, 6).Length;

        var first = store.Append(files, RunFileKind.Metrics, at3, restart: false, Lines(4, 5));
        // The acknowledgement was lost: the node sends the same lines again, then more from before the acknowledged end.
        var again = store.Append(files, RunFileKind.Metrics, at3, restart: false, Lines(4, 5));
        var overlap = store.Append(files, RunFileKind.Metrics, at3, restart: false, Lines(4, 5, 6));
        // Lines after a gap are not taken: the answer asks for what lies between.
        var gap = store.Append(files, RunFileKind.Metrics, at6 + Lines(7).Length, restart: false, Lines(8));

        Assert.Equal(new(at5, 5), first);
        Assert.Equal(new(at5, 5), again);
        Assert.Equal(new(at6, 6), overlap);
        Assert.Equal(new(at6, 6), gap);
        Assert.Equal([1, 2, 3, 4, 5, 6], Steps(watch.Run));
        Assert.Equal(3, watch.Run.PointsFromNodes);
        Assert.Equal(6, watch.Run.Summary.Step);
    }

    [Fact]
    public async Task Append_WhileANodeFeedsTheRun_TheFileIsNotReadAndARestartReplacesTheHistory()
    {
        var files = new RunFiles(_directory);
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50), FedFileInterval = TimeSpan.FromHours(1) };
        var told = 0;
        using var watch = store.Subscribe(files, () => { Interlocked.Increment(ref told); return Task.CompletedTask; });
        await WaitUntilAsync(() => watch.Run.Loaded);

        File.WriteAllBytes(files.MetricsPath, Lines(1, 2));
        store.Append(files, RunFileKind.Metrics, 0, restart: false, Lines(1, 2));
        // (Notifications coalesce: the load's and the lines' may reach the watcher as one.)
        await WaitUntilAsync(() => Steps(watch.Run).Length == 2 && told >= 1);
        // A line only in the file: the store, fed by the node, does not read it.
        File.AppendAllText(files.MetricsPath, Line(3));
        await Task.Delay(400);
        Assert.Equal([1, 2], Steps(watch.Run));

        // A resume rewrote the file from the checkpoint of step 1: the node says so and sends it from 0.
        var restarted = store.Append(files, RunFileKind.Metrics, 0, restart: true, Lines(1, 2));
        var log = Encoding.UTF8.GetBytes(new LogLine(DateTimeOffset.UtcNow, RunLogLevel.Info, "Resuming from step-1").ToJsonLine() + "\n");
        var logged = store.Append(files, RunFileKind.Log, 0, restart: false, log);

        Assert.Equal(new(Lines(1, 2).Length, 2), restarted);
        Assert.Equal([1, 2], Steps(watch.Run));
        Assert.Equal(4, watch.Run.PointsFromNodes);
        Assert.Equal(new(log.Length, 2), logged);
        Assert.Equal("Resuming from step-1", Assert.Single(watch.Run.LogsFrom(0).Lines).Message);
        Assert.Equal(1, watch.Run.LogLinesFromNodes);
    }

    [Fact]
    public async Task Append_ForARunNobodyWatches_LoadsItAndKeepsItWhileLinesArrive()
    {
        var files = new RunFiles(_directory);
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50), Linger = TimeSpan.FromMilliseconds(300) };
        long at = 0;
        // A line every 100 ms for longer than the linger: the run stays loaded while they arrive.
        for (var step = 1; step <= 7; step++)
        {
            var line = Lines(step);
            File.AppendAllText(files.MetricsPath, Line(step));
            store.Append(files, RunFileKind.Metrics, at, restart: false, line);
            at += line.Length;
            await Task.Delay(100);
        }

        Assert.Equal(1, store.WatchedRuns);
        using (var watch = store.Subscribe(files, () => Task.CompletedTask)) Assert.Equal([1, 2, 3, 4, 5, 6, 7], Steps(watch.Run));
        await WaitUntilAsync(() => store.WatchedRuns == 0);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }
}
