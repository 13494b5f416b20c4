using System.Security.Cryptography;
using DeepExtension.Core.Runs;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Core;

/// <summary>
/// The metrics snapshot beside metrics.jsonl: a history opened from it is the one the JSON gives (rows, summary, keys,
/// series, the lease fence), lines appended after it are read on top, and a rewritten file or a damaged snapshot is
/// never trusted. Real files, the real readers.
/// </summary>
public sealed class MetricSnapshotTests : IDisposable
{
    private const int Rows = MetricSnapshot.MinNewRows + 500;
    private readonly RunFiles _run = new(Directory.CreateTempSubdirectory("deepx-snapshot-").FullName);

    public void Dispose() => Directory.Delete(_run.Directory, recursive: true);

    [Fact]
    public void ReadHistory_SnapshotOfAFencedFileWithNaNsEvalRowsAndRowsWithoutTotal_GivesWhatTheJsonGives()
    {
        WriteMixedFile(Rows);

        var parsed = MetricsFile.ReadHistory(_run);
        var reopened = MetricsFile.ReadHistory(_run, out var offset, out var snapshotRows);

        Assert.True(File.Exists(_run.MetricsSnapshotPath));
        Assert.Equal(new FileInfo(_run.MetricsPath).Length, offset);
        Assert.Equal(parsed.Count, snapshotRows);
        AssertSame(ParseJson(), parsed);
        AssertSame(ParseJson(), reopened);
        // The stale line (token 1 after the owner line of token 2) is left out either way.
        Assert.DoesNotContain(Enumerable.Range(0, reopened.Count), row => reopened.PointAt(row).Step == -7);
    }

    [Fact]
    public void ReadHistory_LinesAppendedAfterTheSnapshot_AreReadOnTopThroughTheSameFence()
    {
        WriteMixedFile(Rows);
        MetricsFile.ReadHistory(_run);
        // After the snapshot: a line of the outdated lease (stale, as the fence at the snapshot's end says), then current ones.
        MetricsFile.Append(_run, Point(-8, loss: 9) with { LeaseToken = 1 });
        for (var step = Rows; step < Rows + 20; step++) MetricsFile.Append(_run, Point(step, loss: 0.5 + step % 3) with { LeaseToken = 2 });

        var reopened = MetricsFile.ReadHistory(_run, out var offset, out var snapshotRows);

        Assert.True(snapshotRows > 0);
        Assert.Equal(new FileInfo(_run.MetricsPath).Length, offset);
        AssertSame(ParseJson(), reopened);
        Assert.Equal(Rows + 19, reopened.Summary.Step);
        Assert.DoesNotContain(Enumerable.Range(0, reopened.Count), row => reopened.PointAt(row).Step == -8);
    }

    [Fact]
    public void ReadHistory_FileRewrittenShorter_IgnoresTheSnapshot()
    {
        WriteMixedFile(Rows);
        MetricsFile.ReadHistory(_run);
        File.WriteAllLines(_run.MetricsPath, File.ReadAllLines(_run.MetricsPath).Take(300));

        var reopened = MetricsFile.ReadHistory(_run, out _, out var snapshotRows);

        Assert.Equal(0, snapshotRows);
        AssertSame(ParseJson(), reopened);
    }

    [Fact]
    public void ReadHistory_FileRewrittenByAResumeAndGrownPastTheSnapshot_IgnoresTheSnapshot()
    {
        WriteMixedFile(Rows);
        MetricsFile.ReadHistory(_run);
        var length = new FileInfo(_run.MetricsPath).Length;
        // As a resume does by hand (MetricsFile.Rewrite would also delete the snapshot): points up to the checkpoint, the
        // new owner's line, then its points, until the file is longer than the snapshot's covered prefix.
        File.WriteAllLines(_run.MetricsPath, [.. File.ReadAllLines(_run.MetricsPath).Take(Rows / 2), "{\"lease_token\":3}"]);
        for (var step = Rows / 2; new FileInfo(_run.MetricsPath).Length <= length + 100; step++)
        {
            MetricsFile.Append(_run, Point(step, loss: 7) with { LeaseToken = 3 });
        }

        var reopened = MetricsFile.ReadHistory(_run, out _, out var snapshotRows);

        Assert.Equal(0, snapshotRows);
        AssertSame(ParseJson(), reopened);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadHistory_FileRewrittenToTheSameLengthWithOtherValues_IgnoresTheSnapshot(bool nearTheEnd)
    {
        WriteMixedFile(Rows);
        MetricsFile.ReadHistory(_run);
        var bytes = File.ReadAllBytes(_run.MetricsPath);
        // One digit of a value changed, in the first line or the last: same length, other numbers.
        var at = nearTheEnd ? Array.LastIndexOf(bytes, (byte)'1') : Array.IndexOf(bytes, (byte)'1');
        bytes[at] = (byte)'2';
        File.WriteAllBytes(_run.MetricsPath, bytes);

        var reopened = MetricsFile.ReadHistory(_run, out _, out var snapshotRows);

        Assert.Equal(0, snapshotRows);
        AssertSame(ParseJson(), reopened);
    }

    [Theory]
    [InlineData("flipped")]
    [InlineData("truncated")]
    [InlineData("empty")]
    [InlineData("unknown-version")]
    [InlineData("previous-version")]
    public void ReadHistory_DamagedOrUnknownSnapshot_IsIgnoredAndWrittenAnew(string damage)
    {
        WriteMixedFile(Rows);
        MetricsFile.ReadHistory(_run);
        var bytes = File.ReadAllBytes(_run.MetricsSnapshotPath);
        switch (damage)
        {
            case "flipped":
                bytes[bytes.Length / 2] ^= 0x40;
                break;
            case "truncated":
                bytes = bytes[..(bytes.Length - 100)];
                break;
            case "empty":
                bytes = [];
                break;
            case "unknown-version":
                // A later version's file, its checksum right: this version does not guess at its layout.
                bytes[4] = 99;
                SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes.AsSpan(bytes.Length - 32));
                break;
            case "previous-version":
                // Version 1 (rows of key/value pairs), as the console before block columns wrote it: read as unknown.
                bytes[4] = 1;
                SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes.AsSpan(bytes.Length - 32));
                break;
        }
        File.WriteAllBytes(_run.MetricsSnapshotPath, bytes);

        var reopened = MetricsFile.ReadHistory(_run, out _, out var snapshotRows);

        Assert.Equal(0, snapshotRows);
        AssertSame(ParseJson(), reopened);
        // Read through ReadHistory(run), the damaged snapshot is replaced by a good one.
        MetricsFile.ReadHistory(_run);
        Assert.Equal(reopened.Count, MetricSnapshot.TryRead(_run)?.History.Count);
    }

    [Fact]
    public void ReadHistory_FewerRowsThanTheThreshold_WritesNoSnapshot()
    {
        WriteMixedFile(MetricSnapshot.MinNewRows - 100);

        MetricsFile.ReadHistory(_run);

        Assert.False(File.Exists(_run.MetricsSnapshotPath));
    }

    [Fact]
    public void ReadHistory_SnapshotCannotBeWritten_ReadsTheJsonAndLeavesNoTempFile()
    {
        WriteMixedFile(Rows);
        // A folder where the snapshot would go: the rename fails, as on a read-only data root.
        Directory.CreateDirectory(_run.MetricsSnapshotPath);

        var history = MetricsFile.ReadHistory(_run, NullLogger.Instance);

        AssertSame(ParseJson(), history);
        Assert.Empty(Directory.GetFiles(_run.Directory, "*.tmp"));
    }

    [Fact]
    public void MetricsFileRewrite_AfterASnapshot_RemovesIt()
    {
        WriteMixedFile(Rows);
        MetricsFile.ReadHistory(_run);

        MetricsFile.Rewrite(_run, MetricsFile.ReadAll(_run).Take(10), leaseToken: 4);

        Assert.False(File.Exists(_run.MetricsSnapshotPath));
        AssertSame(ParseJson(), MetricsFile.ReadHistory(_run));
    }

    [Fact]
    public async Task LiveRunStore_FirstLoadOfALongHistory_WritesTheSnapshotThatTheNextStoreOpensFrom()
    {
        WriteMixedFile(Rows);
        var expected = ParseJson();

        await using (var store = new StoreScope())
        {
            await store.LoadAsync(_run);
            // Written after the subscribers were told, on the reader's thread.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.Exists(_run.MetricsSnapshotPath) && DateTime.UtcNow < deadline) await Task.Delay(20);
        }
        Assert.True(File.Exists(_run.MetricsSnapshotPath));
        var written = File.GetLastWriteTimeUtc(_run.MetricsSnapshotPath);
        MetricsFile.Append(_run, Point(Rows + 1, loss: 0.25) with { LeaseToken = 2 });

        await using (var store = new StoreScope())
        {
            var run = await store.LoadAsync(_run);

            Assert.Equal(expected.Count + 1, run.PointCount);
            Assert.Equal(Rows + 1, run.Summary.Step);
            Assert.Equal(expected.Keys.Order(), run.MetricKeys.Order());
            Assert.Equal(expected.Column("loss", MetricAxis.Step).X.Length + 1, run.Series("loss", MetricAxis.Step, 0).Total);
            Assert.Equal(0.25, run.LatestTrainingPoint?["loss"]);
        }
        // One line more than the snapshot holds is not worth writing it again.
        Assert.Equal(written, File.GetLastWriteTimeUtc(_run.MetricsSnapshotPath));
    }

    /// <summary>A store whose runs load at once and stop when their subscription goes.</summary>
    private sealed class StoreScope : IAsyncDisposable
    {
        private readonly LiveRunStore _store = new(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50), Linger = TimeSpan.Zero };
        private readonly List<LiveRunSubscription> _subscriptions = [];

        public async Task<LiveRun> LoadAsync(RunFiles files)
        {
            var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var subscription = _store.Subscribe(files, () => { loaded.TrySetResult(); return Task.CompletedTask; });
            _subscriptions.Add(subscription);
            await loaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return subscription.Run;
        }

        public ValueTask DisposeAsync()
        {
            foreach (var subscription in _subscriptions) subscription.Dispose();
            _store.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// <paramref name="rows"/> points of a run taken over once: lines without a token, then token 1, an owner line of
    /// token 2 and a stale token-1 line after it, then token 2; diverged (NaN) losses, eval-only rows, rows without
    /// planned steps, and a key that appears late.
    /// </summary>
    private void WriteMixedFile(int rows)
    {
        var lines = new List<string>();
        for (var step = 0; step < rows; step++)
        {
            if (step == rows / 2)
            {
                lines.Add("{\"lease_token\":2}");
                lines.Add((Point(-7, loss: 100) with { LeaseToken = 1 }).ToJsonLine());
            }
            long? token = step < rows / 4 ? null : step < rows / 2 ? 1 : 2;
            var values = new Dictionary<string, double>
            {
                ["loss"] = step % 997 == 0 ? double.NaN : 3.0 / (1 + step * 0.01),
                ["learning_rate"] = 2e-4 * (1 - (double)step / rows),
            };
            if (step > rows / 3) values["grad_norm"] = 1 + step % 7 * 0.125;
            if (step % 50 == 0) values["tokens_per_second"] = 1000 + step % 13;
            lines.Add(new MetricPoint(step, step / 1000.0, step * 0.25, values) { TotalSteps = step % 3 == 0 ? null : rows, LeaseToken = token }.ToJsonLine());
            if (step % 100 == 0)
            {
                lines.Add(new MetricPoint(step, step / 1000.0, step * 0.25, new Dictionary<string, double> { ["eval_loss"] = step % 300 == 0 ? double.NaN : 2.0 - step * 1e-5 })
                {
                    LeaseToken = token,
                }.ToJsonLine());
            }
        }
        File.WriteAllLines(_run.MetricsPath, lines);
    }

    private static MetricPoint Point(long step, double loss) =>
        new(step, step / 1000.0, step * 0.25, new Dictionary<string, double> { ["loss"] = loss }) { TotalSteps = Rows + 20 };

    /// <summary>The file parsed from its JSON, as before snapshots existed.</summary>
    private MetricHistory ParseJson()
    {
        var history = new MetricHistory();
        long offset = 0, before;
        do
        {
            before = offset;
            MetricsFile.ReadNew(_run, ref offset, history);
        }
        while (offset != before);
        return history;
    }

    private static void AssertSame(MetricHistory expected, MetricHistory actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Summary, actual.Summary);
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.Equal(expected.LatestTrainingPoint?.ToJsonLine(), actual.LatestTrainingPoint?.ToJsonLine());
        Assert.Equal(expected.FenceToken, actual.FenceToken);
        for (var row = 0; row < expected.Count; row++) Assert.Equal(expected.PointAt(row).ToJsonLine(), actual.PointAt(row).ToJsonLine());
        foreach (var key in expected.Keys)
        {
            foreach (var axis in new[] { MetricAxis.Step, MetricAxis.Epoch, MetricAxis.Elapsed })
            {
                var (x, y) = expected.Column(key, axis);
                var (ax, ay) = actual.Column(key, axis);
                Assert.Equal(x, ax);
                // Bit for bit, NaNs included.
                Assert.Equal(y.Select(BitConverter.DoubleToInt64Bits), ay.Select(BitConverter.DoubleToInt64Bits));
            }
        }
    }
}
