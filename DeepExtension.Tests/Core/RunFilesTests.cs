using System.Text;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Core;

public sealed class RunFilesTests : IDisposable
{
    private readonly RunFiles _run = new(Directory.CreateTempSubdirectory("deepx-run").FullName);

    public void Dispose() => Directory.Delete(_run.Directory, recursive: true);

    [Fact]
    public void JsonLinesFileAppend_SeveralWritersAtOnce_KeepsEveryLineWhole()
    {
        // Each append opens the file on its own, as a worker, its launcher and the console do in their processes.
        var path = Path.Combine(_run.Directory, "shared.log.jsonl");
        const int writers = 8, lines = 5000;
        using var start = new Barrier(writers);
        var threads = Enumerable.Range(0, writers).Select(writer => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < lines; i++) JsonLinesFile.Append(path, $$"""{"writer":{{writer}},"line":{{i}},"msg":"{{new string('x', 60)}}"}""");
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var read = JsonLinesFile.ReadAll(path);
        Assert.Equal(writers * lines, read.Count);
        Assert.All(read, line => Assert.Matches("""^\{"writer":\d,"line":\d+,"msg":"x{60}"\}$""", line));
        Assert.Equal(writers * lines, read.Distinct().Count());
    }

    [Fact]
    public void JsonLinesFileAppend_FolderMissing_ThrowsDirectoryNotFound()
    {
        var path = Path.Combine(_run.Directory, "missing", "x.jsonl");
        Assert.Throws<DirectoryNotFoundException>(() => JsonLinesFile.Append(path, "{}"));
    }

    [Fact]
    public void MetricPoint_RoundTrip_KeepsStepEpochAndEveryValue()
    {
        var point = new MetricPoint(12, 0.75, 3.5, new Dictionary<string, double> { ["loss"] = 1.25, ["rewards/margins"] = -0.5, ["learning_rate"] = 2e-4 });

        var parsed = MetricPoint.ParseJsonLine(point.ToJsonLine())!;

        Assert.Equal(12, parsed.Step);
        Assert.Equal(0.75, parsed.Epoch);
        Assert.Equal(3.5, parsed.ElapsedSeconds);
        Assert.Equal(point.Values.OrderBy(v => v.Key), parsed.Values.OrderBy(v => v.Key));
    }

    [Fact]
    public void MetricPoint_NonFiniteLoss_IsWrittenAsNullAndReadAsNaN()
    {
        var line = new MetricPoint(1, 0, 0, new Dictionary<string, double> { ["loss"] = double.PositiveInfinity }).ToJsonLine();

        Assert.Contains("\"loss\":null", line);
        Assert.True(double.IsNaN(MetricPoint.ParseJsonLine(line)!["loss"]!.Value));
    }

    [Fact]
    public void ReadHistory_WholeFile_GivesTheSummaryOfEveryPoint()
    {
        for (var step = 1; step <= 30; step++)
        {
            var values = new Dictionary<string, double> { ["loss"] = 3 - step * 0.05 + (step == 7 ? 2 : 0), ["tokens_per_second"] = 100 + step };
            MetricsFile.Append(_run, new MetricPoint(step, step / 30.0, step * 0.5, values) { TotalSteps = 30 });
            if (step % 10 == 0) MetricsFile.Append(_run, new MetricPoint(step, step / 30.0, step * 0.5, new Dictionary<string, double> { ["eval_loss"] = 4 - step * 0.1 }) { TotalSteps = 30 });
        }

        var summary = MetricsFile.ReadHistory(_run).Summary;

        Assert.Equal(RunSummary.Of(MetricsFile.ReadAll(_run)), summary);
        Assert.Equal(30, summary.Step);
        Assert.Equal(1.5, summary.LastLoss!.Value, 10);
        Assert.Equal(1.0, summary.LastEvalLoss!.Value, 10);
    }

    [Fact]
    public void ReadNew_LineStillBeingWritten_IsDeliveredOnlyOnceComplete()
    {
        MetricsFile.Append(_run, new MetricPoint(1, 0, 0, new Dictionary<string, double> { ["loss"] = 2 }));
        File.AppendAllText(_run.MetricsPath, "{\"step\":2,\"epoch\":0,\"ela");
        long offset = 0;
        var fence = new LeaseFence();

        var first = MetricsFile.ReadNew(_run, ref offset, fence);
        File.AppendAllText(_run.MetricsPath, "psed\":1,\"loss\":1.5}\n");
        var second = MetricsFile.ReadNew(_run, ref offset, fence);
        var third = MetricsFile.ReadNew(_run, ref offset, fence);

        Assert.Equal([1L], first.Select(p => p.Step));
        Assert.Equal([2L], second.Select(p => p.Step));
        Assert.Equal(1.5, second[0]["loss"]);
        Assert.Empty(third);
    }

    [Fact]
    public void ReadNew_MultibyteUtf8InLogLines_IsDecodedWhole()
    {
        LogFile.Append(_run, new LogLine(DateTimeOffset.UnixEpoch, RunLogLevel.Warning, "数据集 ✓ — naïve"));
        long offset = 0;

        var line = Assert.Single(LogFile.ReadNew(_run, ref offset, new LeaseFence()));

        Assert.Equal("数据集 ✓ — naïve", line.Message);
        Assert.Equal(RunLogLevel.Warning, line.Level);
        Assert.Equal(new FileInfo(_run.LogPath).Length, offset);
        Assert.Equal("1970-01-01 00:00:00.000 WARNING 数据集 ✓ — naïve", line.ToText());
        Assert.Contains("\"level\":\"warning\"", File.ReadAllText(_run.LogPath, Encoding.UTF8));
    }

    [Fact]
    public async Task Subscribe_PointsAppendedLater_ArriveWithinASecondAfterTheHistory()
    {
        MetricsFile.Append(_run, new MetricPoint(1, 0, 0, new Dictionary<string, double> { ["loss"] = 3 }));
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Linger = TimeSpan.Zero };
        var seen = new List<int>();
        var sawStep2 = new TaskCompletionSource();
        LiveRunSubscription? subscription = null;

        using (subscription = store.Subscribe(_run, () =>
               {
                   var count = subscription!.Run.PointCount;
                   lock (seen) seen.Add(count);
                   if (count == 2) sawStep2.TrySetResult();
                   return Task.CompletedTask;
               }))
        {
            await Task.Delay(300);
            MetricsFile.Append(_run, new MetricPoint(2, 0, 1, new Dictionary<string, double> { ["loss"] = 2 }));
            await sawStep2.Task.WaitAsync(TimeSpan.FromSeconds(1));
        }

        MetricsFile.Append(_run, new MetricPoint(3, 0, 2, new Dictionary<string, double> { ["loss"] = 1 }));
        await Task.Delay(600);
        lock (seen) Assert.Equal([1, 2], seen);
        Assert.Equal(0, store.WatchedRuns);
    }

    [Fact]
    public void RequestCancel_CreatesTheRequestFileTheWorkerPolls()
    {
        Assert.False(_run.CancelRequested);
        _run.RequestCancel();
        Assert.True(_run.CancelRequested);
    }
}
