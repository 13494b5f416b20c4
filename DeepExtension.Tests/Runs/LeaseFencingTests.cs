using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Runs.Training;

namespace DeepExtension.Tests.Runs;

/// <summary>
/// Fencing on read of a run's metrics.jsonl and train.log.jsonl: a worker frozen between its lease check and its append
/// finishes the append after another node took the run over; that line is left out by every reader (and the point dropped
/// by the next resume), while files of earlier versions (no tokens) read as before. Real files, the real recorder and readers.
/// </summary>
public sealed class LeaseFencingTests : IDisposable
{
    private readonly RunFiles _run = new(Directory.CreateTempSubdirectory("deepx-fence-").FullName);

    public void Dispose() => Directory.Delete(_run.Directory, recursive: true);

    [Fact]
    public void LeaseFence_TokensInFileOrder_AdmitsEveryLineButALowerTokenAfterAHigherOne()
    {
        var fence = new LeaseFence();

        Assert.Equal([true, true, true, true, false, true, true, true, false],
            new long?[] { null, 1, 1, 2, 1, null, 2, 3, 2 }.Select(fence.Admits));
        Assert.Equal(3, fence.Token);
    }

    [Fact]
    public void MetricsFile_PointOfTheOldLeaseAppendedAfterTheNewOwnersPoints_IsLeftOutByEveryReaderAndByTheNextResume()
    {
        var reads = new IncrementalReads(_run);
        // Node A (lease token 1) logs steps 1 to 12; its lease runs out and node B (token 2) resumes from the checkpoint of step 10.
        var a = new RunRecorder(_run, leaseToken: 1);
        for (var step = 1; step <= 12; step++) Record(a, step, reads);
        var b = new RunRecorder(_run, leaseToken: 2);
        b.ResumeAt(10);
        reads.Read();
        Record(b, 11, reads);
        Record(b, 12, reads);
        // A was frozen between its lease check and its append of step 13: thawed, it appends after B's points.
        Record(a, 13, reads);
        Record(b, 13, reads);

        AssertCurve(Enumerable.Range(1, 13), [.. Enumerable.Repeat(1L, 10), 2, 2, 2], reads);

        // B dies; node C (token 3) resumes from the checkpoint of step 12: the stale line is gone from the file too.
        new RunRecorder(_run, leaseToken: 3).ResumeAt(12);
        Assert.DoesNotContain(File.ReadAllLines(_run.MetricsPath), l => l.Contains("\"step\":13"));
        Assert.Equal("{\"lease_token\":3}", File.ReadAllLines(_run.MetricsPath)[^1]);
        AssertCurve(Enumerable.Range(1, 12), [.. Enumerable.Repeat(1L, 10), 2, 2], new IncrementalReads(_run));
    }

    [Fact]
    public void MetricsFile_PointOfTheOldLeaseAppendedBeforeTheNewOwnersFirstPoint_IsLeftOut()
    {
        var reads = new IncrementalReads(_run);
        var a = new RunRecorder(_run, leaseToken: 1);
        for (var step = 1; step <= 5; step++) Record(a, step, reads);
        // B took the run over and resumed from step 4 (no point of its own yet) when the thawed A appends step 6.
        var b = new RunRecorder(_run, leaseToken: 2);
        b.ResumeAt(4);
        reads.Read();
        Record(a, 6, reads);
        Record(b, 5, reads);

        AssertCurve(Enumerable.Range(1, 5), [1, 1, 1, 1, 2], reads);
    }

    [Fact]
    public void MetricsFile_RunStartedOverWithoutACheckpoint_KeepsNoPointOfTheEarlierAttempt()
    {
        var a = new RunRecorder(_run, leaseToken: 1);
        for (var step = 1; step <= 3; step++) Record(a, step);
        var b = new RunRecorder(_run, leaseToken: 2);
        b.ResumeAt(0);
        Record(a, 4);
        Record(b, 1);

        AssertCurve([1], [2], new IncrementalReads(_run));
    }

    [Fact]
    public void MetricsFile_FileOfAnEarlierVersionWithoutTokens_ReadsEveryLineAsBeforeAndResumesWithTokens()
    {
        // As earlier versions wrote it: no lease token (and the oldest lines no total_steps either).
        string[] old =
        [
            """{"step":1,"epoch":0.1,"elapsed":1,"loss":3}""",
            """{"step":2,"epoch":0.2,"elapsed":2,"total_steps":10,"loss":2.5,"tokens_per_second":100}""",
            """{"step":2,"epoch":0.2,"elapsed":2,"total_steps":10,"eval_loss":2.75}""",
            """{"step":3,"epoch":0.3,"elapsed":3,"total_steps":10,"loss":null}""",
            """{"step":2,"epoch":0.2,"elapsed":2.5,"total_steps":10,"loss":2.4}""",
        ];
        File.WriteAllLines(_run.MetricsPath, old);
        var reads = new IncrementalReads(_run);
        reads.Read();

        var all = MetricsFile.ReadAll(_run);
        Assert.Equal(old.Select(l => MetricPoint.ParseJsonLine(l)!.ToJsonLine()), all.Select(p => p.ToJsonLine()));
        Assert.All(all, p => Assert.Null(p.LeaseToken));
        Assert.Equal(old.Length, MetricsFile.ReadHistory(_run).Count);
        Assert.Equal(old.Length, reads.History.Count);
        Assert.Equal(RunSummary.Of(all), MetricsFile.ReadHistory(_run).Summary);

        // The upgraded worker resumes it from step 2: the old points up to there stay as they were, its own carry its token.
        var upgraded = new RunRecorder(_run, leaseToken: 1);
        upgraded.ResumeAt(2);
        Record(upgraded, 3);
        Assert.Equal([1L, 2, 2, 2, 3], MetricsFile.ReadAll(_run).Select(p => p.Step));
        Assert.Equal([null, null, null, null, 1L], MetricsFile.ReadAll(_run).Select(p => p.LeaseToken));
    }

    [Fact]
    public void LogFile_LineOfTheOldLeaseAppendedAfterTheNewOwnersFirstLine_IsLeftOutByEveryReader()
    {
        // Written by an earlier version: no token, read as before, before the fenced lines.
        File.WriteAllLines(_run.LogPath, ["""{"t":"2026-11-20T10:00:00+00:00","level":"info","msg":"old"}"""]);
        var live = new List<LogLine>();
        long offset = 0;
        var fence = new LeaseFence();
        var a = new RunRecorder(_run, leaseToken: 1);
        var b = new RunRecorder(_run, leaseToken: 2);

        a.Log(RunLogLevel.Info, "a: step 12");
        live.AddRange(LogFile.ReadNew(_run, ref offset, fence));
        b.Log(RunLogLevel.Info, "b: resuming");
        live.AddRange(LogFile.ReadNew(_run, ref offset, fence));
        a.Log(RunLogLevel.Info, "a: checkpoint saved at step 13"); // Thawed after the takeover.
        b.Log(RunLogLevel.Info, "b: step 11");
        live.AddRange(LogFile.ReadNew(_run, ref offset, fence));

        string[] expected = ["old", "a: step 12", "b: resuming", "b: step 11"];
        Assert.Equal(expected, LogFile.ReadAll(_run).Select(l => l.Message));
        Assert.Equal(expected, _run.Log.ReadAll().Select(l => l.Message));
        Assert.Equal(expected, live.Select(l => l.Message));
        Assert.Equal([null, 1L, 2, 2], LogFile.ReadAll(_run).Select(l => l.LeaseToken));
        Assert.Contains("a: checkpoint saved at step 13", File.ReadAllText(_run.LogPath)); // Left out on read, not erased.
    }

    [Theory]
    [InlineData(WorkKind.Save)]
    [InlineData(WorkKind.Evaluate)]
    [InlineData(WorkKind.Deploy)]
    [InlineData(WorkKind.Download)]
    public void WorkLog_LineOfTheOldLeaseAppendedAfterTheNewOwnersFirstLine_IsLeftOut(WorkKind kind)
    {
        var log = WorkLog.In(_run.Directory, kind);
        var a = log.WithLeaseToken(1);
        var b = log.WithLeaseToken(2);

        log.Append(RunLogLevel.Info, "console: queued");        // a console line (no lease): always read
        a.Append(RunLogLevel.Info, "a: merging");
        b.Append(RunLogLevel.Info, "b: merging again");
        a.Append(RunLogLevel.Info, "a: wrote 3 files");          // thawed after the takeover
        b.Append(new LogLine(DateTimeOffset.UtcNow, RunLogLevel.Info, "b: wrote 3 files"));

        Assert.Equal(["console: queued", "a: merging", "b: merging again", "b: wrote 3 files"], log.ReadAll().Select(l => l.Message));
        Assert.Equal([null, 1L, 2, 2], log.ReadAll().Select(l => l.LeaseToken));
        Assert.Contains("a: wrote 3 files", File.ReadAllText(log.Path)); // Left out on read, not erased.
    }

    private static void Record(RunRecorder recorder, long step, IncrementalReads? reads = null)
    {
        recorder.Record(step, 20, step / 20.0, new Dictionary<string, double> { ["loss"] = 3.0 / step });
        reads?.Read();
    }

    /// <summary>Every reader gives the same curve: the whole file as points and as columns, and a live reader that read it line by line as it grew.</summary>
    private void AssertCurve(IEnumerable<int> steps, long[] tokens, IncrementalReads reads)
    {
        reads.Read();
        var all = MetricsFile.ReadAll(_run);
        Assert.Equal(steps.Select(s => (long)s), all.Select(p => p.Step));
        Assert.Equal(tokens.Select(t => (long?)t), all.Select(p => p.LeaseToken));
        var history = MetricsFile.ReadHistory(_run);
        Assert.Equal(all.Count, history.Count);
        Assert.Equal(all.Select(p => (double)p.Step), history.Column("loss", MetricAxis.Step).X);
        Assert.Equal(RunSummary.Of(all), history.Summary);
        Assert.Equal(all.Select(p => (p.Step, p["loss"])), Enumerable.Range(0, reads.History.Count).Select(reads.History.PointAt).Select(p => (p.Step, p["loss"])));
        Assert.Equal(all.Select(p => p.ToJsonLine()), reads.Points.Select(p => p.ToJsonLine()));
    }

    /// <summary>
    /// Reads the file as the live store does, a little at a time as it grows, starting over when it was rewritten (found
    /// shorter; the tests read right after each rewrite): into columns, and as points.
    /// </summary>
    private sealed class IncrementalReads(RunFiles run)
    {
        private long _historyOffset, _pointsOffset;
        private LeaseFence _fence = new();

        public MetricHistory History { get; private set; } = new();
        public List<MetricPoint> Points { get; private set; } = [];

        public void Read()
        {
            if (File.Exists(run.MetricsPath) && new FileInfo(run.MetricsPath).Length < _historyOffset)
            {
                (History, Points, _fence, _historyOffset, _pointsOffset) = (new MetricHistory(), [], new LeaseFence(), 0, 0);
            }
            MetricsFile.ReadNew(run, ref _historyOffset, History);
            Points.AddRange(MetricsFile.ReadNew(run, ref _pointsOffset, _fence));
        }
    }
}
