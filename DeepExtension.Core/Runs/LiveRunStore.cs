using DeepExtension.Core.Nodes;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Core.Runs;

/// <summary>
/// The live data of runs in this process (as Aspire Dashboard's TelemetryRepository holds telemetry): one
/// <see cref="LiveRun"/> per watched run, reading the run's metrics and log files every <see cref="Interval"/> and
/// holding the parsed history, shared by every page, chart and job that watches the run (reference-counted: the
/// reader stops when the last subscription is disposed). Subscribers are told that something changed (at most once per
/// tick, never overlapping for one subscriber) and read what they need from the <see cref="LiveRun"/>. Works wherever
/// the worker runs, as long as it shares the data folder; a worker node also sends its runs' lines as they are written
/// (<see cref="Append"/>, see <see cref="NodeFeed"/>), so a remote run's points arrive without waiting on the shared files.
/// </summary>
public sealed class LiveRunStore(ILogger<LiveRunStore> logger) : IDisposable
{
    private readonly Dictionary<string, LiveRun> _runs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>How often a watched run's files are read: the throttle of every subscriber's notifications.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a run's history stays loaded after its last subscription is disposed: reopening a page (or the
    /// interactive render following a prerender) finds it parsed and its series reduced instead of reading it again.
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a run that a node feeds goes without its files being read (see <see cref="NodeFeed.FileFallbackSecondsKey"/>):
    /// the files are read again once the node has sent nothing for this long (its connection dropped, it died).
    /// </summary>
    public TimeSpan FedFileInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Watches <paramref name="files"/>: <paramref name="onChanged"/> is called once the history is loaded and after each
    /// read that found more. Dispose the result to stop watching.
    /// </summary>
    public LiveRunSubscription Subscribe(RunFiles files, Func<Task> onChanged)
    {
        lock (_runs) return RunOf(files).Add(onChanged, this);
    }

    /// <summary>
    /// Starts reading <paramref name="files"/> ahead of a subscription (a page calls it while it prerenders, so the
    /// history is parsed while the browser connects); without a subscription it lingers, then stops.
    /// </summary>
    public void Preload(RunFiles files)
    {
        lock (_runs)
        {
            var run = RunOf(files);
            if (run.SubscriberCount == 0) ScheduleStop(run);
        }
    }

    /// <summary>
    /// Lines a worker node read from one of <paramref name="files"/>' files, starting at byte <paramref name="offset"/>
    /// (with <paramref name="restart"/> when the file was replaced and they start at 0 again): the lines this store did
    /// not hold yet are parsed into the run's history as if read from the file. Watches the run (lingering) while lines
    /// arrive. Returns the position held in the file now, where the node's next lines start.
    /// </summary>
    public NodeLinesAck Append(RunFiles files, RunFileKind file, long offset, bool restart, ReadOnlySpan<byte> lines)
    {
        LiveRun run;
        lock (_runs)
        {
            var known = _runs.ContainsKey(files.Directory);
            run = RunOf(files);
            run.MarkFed(DateTime.UtcNow);
            if (!known) ScheduleStop(run);
        }
        return run.Append(file, offset, restart, lines);
    }

    private LiveRun RunOf(RunFiles files)
    {
        ObjectDisposedException.ThrowIf(_shutdown.IsCancellationRequested, this);
        if (!_runs.TryGetValue(files.Directory, out var run))
        {
            run = new LiveRun(files, logger, FedFileInterval);
            _runs[files.Directory] = run;
            run.Start(Interval, _shutdown.Token);
        }
        return run;
    }

    /// <summary>Runs watched right now (diagnostics and tests).</summary>
    public int WatchedRuns
    {
        get
        {
            lock (_runs) return _runs.Count;
        }
    }

    internal void Release(LiveRun run, LiveRunSubscription subscription)
    {
        lock (_runs)
        {
            if (run.Remove(subscription) > 0) return;
            ScheduleStop(run);
        }
    }

    /// <summary>Stops <paramref name="run"/> after <see cref="Linger"/> unless someone subscribes (or preloads) meanwhile. Called under the lock.</summary>
    private void ScheduleStop(LiveRun run)
    {
        var generation = ++run.LingerGeneration;
        if (Linger <= TimeSpan.Zero)
        {
            StopIfIdle(run, generation);
            return;
        }
        _ = Task.Delay(Linger, _shutdown.Token).ContinueWith(_ =>
        {
            lock (_runs)
            {
                if (!_shutdown.IsCancellationRequested) StopIfIdle(run, generation);
            }
        }, TaskScheduler.Default);
    }

    private void StopIfIdle(LiveRun run, int generation)
    {
        if (run.SubscriberCount > 0 || run.LingerGeneration != generation) return;
        if (DateTime.UtcNow - run.LastFedUtc < Linger)
        {
            // A node still sends this run's lines: it stays loaded while they arrive, then lingers.
            ScheduleStop(run);
            return;
        }
        if (_runs.TryGetValue(run.Files.Directory, out var current) && current == run) _runs.Remove(run.Files.Directory);
        run.Stop();
    }

    public void Dispose()
    {
        lock (_runs)
        {
            if (_shutdown.IsCancellationRequested) return;
            _shutdown.Cancel();
            foreach (var run in _runs.Values) run.Stop();
            _runs.Clear();
        }
        _shutdown.Dispose();
    }
}

/// <summary>A subscriber's handle on a <see cref="LiveRun"/>; disposing it stops the notifications (and the reader, if it was the last).</summary>
public sealed class LiveRunSubscription : IDisposable
{
    private readonly LiveRunStore _store;
    private readonly Func<Task> _onChanged;
    private readonly ILogger _logger;
    private int _pending;
    private int _running;
    private bool _disposed;

    internal LiveRunSubscription(LiveRun run, Func<Task> onChanged, LiveRunStore store, ILogger logger)
    {
        Run = run;
        _onChanged = onChanged;
        _store = store;
        _logger = logger;
    }

    /// <summary>The shared history of the watched run.</summary>
    public LiveRun Run { get; }

    /// <summary>Asks for a notification; several asked while one runs collapse into one more.</summary>
    internal void Notify()
    {
        if (Volatile.Read(ref _disposed)) return;
        Interlocked.Exchange(ref _pending, 1);
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
        _ = Task.Run(DrainAsync);
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            while (Interlocked.Exchange(ref _pending, 0) == 1 && !Volatile.Read(ref _disposed))
            {
                try
                {
                    await _onChanged();
                }
                catch (Exception ex)
                {
                    // A failing subscriber (a closed circuit) must not take the run's reader or other subscribers down.
                    _logger.LogDebug(ex, "A live-data subscriber of {RunDirectory} failed", Run.Files.Directory);
                }
            }
            Volatile.Write(ref _running, 0);
            // A notification that arrived between the last check and releasing the flag is not lost.
            if (Volatile.Read(ref _pending) == 0 || Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _store.Release(Run, this);
    }
}

/// <summary>
/// One watched run: its metric points and log lines read so far, a <see cref="RunSummary"/> of the points, and series
/// reduced for charts. Thread-safe; read it from notifications.
/// </summary>
public sealed class LiveRun
{
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private MetricHistory _history = new();
    private readonly List<LogLine> _logs = [];
    private readonly List<LiveRunSubscription> _subscribers = [];
    /// <summary>Series already reduced for the current <see cref="Version"/>: every page and chart that shows the same series shares one reduction.</summary>
    private readonly Dictionary<(string Metric, MetricAxis Axis, double Alpha, double? Min, double? Max, int MaxPoints), SeriesSlice> _slices = [];
    private CancellationTokenSource? _stop;
    private long _metricsOffset, _logOffset;
    /// <summary>Rows of the history the run's metrics snapshot holds (0: none valid): see <see cref="SaveSnapshotIfStale"/>.</summary>
    private int _snapshotRows;
    private bool _historyRead;
    private readonly TimeSpan _fedFileInterval;
    private long _lastFedTicks;
    private long _pointsFromNodes, _logLinesFromNodes;
    // The log's lines in file order, whichever way they came (read from the file or sent by a node), pass one fence.
    private Work.LeaseFence _logFence = new();

    internal LiveRun(RunFiles files, ILogger logger, TimeSpan fedFileInterval)
    {
        Files = files;
        _logger = logger;
        _fedFileInterval = fedFileInterval;
    }

    public RunFiles Files { get; }

    /// <summary>True once the files were read the first time (the history is complete up to then).</summary>
    public bool Loaded { get; private set; }

    /// <summary>Grows with every read that found more: lets a reader skip work when nothing changed.</summary>
    public long Version { get; private set; }

    public RunSummary Summary
    {
        get
        {
            lock (_gate) return _history.Summary;
        }
    }

    /// <summary>The last point that logged a training loss (evaluation points carry only eval_loss).</summary>
    public MetricPoint? LatestTrainingPoint
    {
        get
        {
            lock (_gate) return _history.LatestTrainingPoint;
        }
    }

    public int PointCount
    {
        get
        {
            lock (_gate) return _history.Count;
        }
    }

    /// <summary>What tokenizing the dataset gave, as the worker logged it (null until it has).</summary>
    public TrainingDataReport? DataReport
    {
        get
        {
            lock (_gate) return TrainingDataReport.Last(_logs);
        }
    }

    public int LogCount
    {
        get
        {
            lock (_gate) return _logs.Count;
        }
    }

    /// <summary>Metric points that came from a worker node (<see cref="LiveRunStore.Append"/>), not from reading the file.</summary>
    public long PointsFromNodes => Interlocked.Read(ref _pointsFromNodes);

    /// <summary>Log lines that came from a worker node, not from reading the file.</summary>
    public long LogLinesFromNodes => Interlocked.Read(ref _logLinesFromNodes);

    /// <summary>When a node last sent lines of this run (MinValue: never).</summary>
    public DateTime LastFedUtc => new(Interlocked.Read(ref _lastFedTicks), DateTimeKind.Utc);

    internal void MarkFed(DateTime nowUtc) => Interlocked.Exchange(ref _lastFedTicks, nowUtc.Ticks);

    /// <summary>See <see cref="LiveRunStore.Append"/>.</summary>
    internal NodeLinesAck Append(RunFileKind file, long offset, bool restart, ReadOnlySpan<byte> lines)
    {
        var appended = 0;
        NodeLinesAck ack;
        List<LiveRunSubscription>? subscribers = null;
        lock (_gate)
        {
            var changed = false;
            if (restart)
            {
                if (file == RunFileKind.Metrics)
                {
                    _history = new MetricHistory();
                    _metricsOffset = 0;
                    _snapshotRows = 0;
                }
                else
                {
                    _logs.Clear();
                    _logOffset = 0;
                    _logFence = new Work.LeaseFence();
                }
                changed = true;
            }
            ref var position = ref file == RunFileKind.Metrics ? ref _metricsOffset : ref _logOffset;
            // Lines before the position are held already (sent before, or read from the file); lines after a gap wait
            // for the node to send what lies between (it resends from the position answered).
            var skip = position - offset;
            if (skip >= 0 && skip < lines.Length && (skip == 0 || lines[(int)skip - 1] == (byte)'\n'))
            {
                var rest = lines[(int)skip..];
                var end = rest.LastIndexOf((byte)'\n');
                if (end >= 0)
                {
                    rest = rest[..(end + 1)];
                    while (rest.Length > 0)
                    {
                        var length = rest.IndexOf((byte)'\n');
                        if (length > 0)
                        {
                            // The same readers as the files': one format, parsed one way, whichever way a line came.
                            // Counted as held afterwards: an owner line (no step) or a stale line adds nothing.
                            var before = file == RunFileKind.Metrics ? _history.Count : _logs.Count;
                            if (file == RunFileKind.Metrics) _history.AppendLine(rest[..length]);
                            else _logs.AddRange(LogFile.Current([System.Text.Encoding.UTF8.GetString(rest[..length])], _logFence));
                            appended += (file == RunFileKind.Metrics ? _history.Count : _logs.Count) - before;
                        }
                        rest = rest[(length + 1)..];
                    }
                    position = offset + skip + end + 1;
                    changed = true;
                }
            }
            if (changed)
            {
                Version++;
                _slices.Clear();
                if (Loaded) subscribers = [.. _subscribers];
            }
            ack = new NodeLinesAck(position, _history.Count > 0 ? _history.Summary.Step : null);
        }
        Interlocked.Add(ref file == RunFileKind.Metrics ? ref _pointsFromNodes : ref _logLinesFromNodes, appended);
        if (subscribers is not null)
        {
            foreach (var subscriber in subscribers) subscriber.Notify();
        }
        return ack;
    }

    /// <summary>Every metric key any point logged.</summary>
    public IReadOnlySet<string> MetricKeys
    {
        get
        {
            lock (_gate) return _history.Keys.ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>Log lines from index <paramref name="from"/> on (at most the last <paramref name="max"/> of them) and the index to read from next time.</summary>
    public (IReadOnlyList<LogLine> Lines, int Next) LogsFrom(int from, int max = int.MaxValue)
    {
        lock (_gate)
        {
            var start = Math.Max(from, _logs.Count - max);
            return (start >= _logs.Count ? [] : _logs.GetRange(start, _logs.Count - start), _logs.Count);
        }
    }

    /// <summary>One metric reduced for a chart (see <see cref="MetricSeries"/>), computed once per version of the history.</summary>
    public SeriesSlice Series(string metric, MetricAxis axis, double alpha, double? windowMin = null, double? windowMax = null,
        int maxPoints = MetricSeries.MaxPoints)
    {
        lock (_gate)
        {
            var key = (metric, axis, alpha, windowMin, windowMax, maxPoints);
            if (_slices.TryGetValue(key, out var slice)) return slice;
            slice = MetricSeries.Project(_history, metric, axis, alpha, windowMin, windowMax, maxPoints);
            // Zoom windows are many and rarely asked twice: keep the cache small.
            if (_slices.Count >= 64) _slices.Clear();
            _slices[key] = slice;
            return slice;
        }
    }

    internal LiveRunSubscription Add(Func<Task> onChanged, LiveRunStore store)
    {
        LingerGeneration++;
        var subscription = new LiveRunSubscription(this, onChanged, store, _logger);
        lock (_gate)
        {
            _subscribers.Add(subscription);
            // A run already loaded for another watcher: this one gets the history now, not at the next change.
            if (Loaded) subscription.Notify();
        }
        return subscription;
    }

    /// <summary>Counts the releases that asked to stop this run: only the latest one's delay may stop it (guarded by the store's lock).</summary>
    internal int LingerGeneration { get; set; }

    internal int SubscriberCount
    {
        get
        {
            lock (_gate) return _subscribers.Count;
        }
    }

    /// <summary>Removes a subscriber; returns how many are left.</summary>
    internal int Remove(LiveRunSubscription subscription)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscription);
            return _subscribers.Count;
        }
    }

    internal void Start(TimeSpan interval, CancellationToken shutdown)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        var token = _stop.Token;
        _ = Task.Run(() => ReadLoopAsync(interval, token));
    }

    internal void Stop()
    {
        try
        {
            _stop?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task ReadLoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // While a node sends this run's lines, the files are only the fallback for when it stops.
                var fed = DateTime.UtcNow - LastFedUtc < _fedFileInterval;
                var first = !Loaded;
                if ((!fed || !Loaded) && (ReadNew() || !Loaded))
                {
                    List<LiveRunSubscription> subscribers;
                    lock (_gate)
                    {
                        Loaded = true;
                        subscribers = [.. _subscribers];
                    }
                    foreach (var subscriber in subscribers) subscriber.Notify();
                }
                // After the subscribers were told: the first open does not wait for the snapshot.
                if (first) SaveSnapshotIfStale();
                await Task.Delay(interval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Live data of run folder {RunDirectory} stopped", Files.Directory);
        }
        finally
        {
            SaveSnapshotIfStale();
            _stop?.Dispose();
        }
    }

    /// <summary>Writes the run's metrics snapshot when the rule of <see cref="MetricSnapshot.CaptureIfStale"/> says so (after the first load, and on stop).</summary>
    private void SaveSnapshotIfStale()
    {
        MetricHistory history;
        MetricSnapshot.Capture? capture;
        lock (_gate)
        {
            history = _history;
            capture = MetricSnapshot.CaptureIfStale(_history, _metricsOffset, _snapshotRows);
        }
        // Written outside the lock: readers of the history do not wait for the disk.
        if (capture is null || !capture.Save(Files, _logger)) return;
        lock (_gate)
        {
            if (ReferenceEquals(history, _history)) _snapshotRows = Math.Max(_snapshotRows, capture.Rows);
        }
    }

    /// <summary>
    /// The first read of the metrics: the whole history (from the snapshot when it matches the file), parsed outside the
    /// lock as nobody reads it before it is loaded. False when a node's lines came first (the file is then read on after them).
    /// </summary>
    private bool LoadHistory()
    {
        var history = MetricsFile.ReadHistory(Files, out var offset, out var snapshotRows);
        lock (_gate)
        {
            if (_metricsOffset != 0 || _history.Count != 0) return false;
            (_history, _metricsOffset, _snapshotRows) = (history, offset, snapshotRows);
            return offset > 0;
        }
    }

    /// <summary>Reads everything appended since the last read (the whole history the first time). True when anything was new.</summary>
    private bool ReadNew()
    {
        var any = false;
        if (!_historyRead)
        {
            any = LoadHistory();
            _historyRead = true;
        }
        bool more;
        do
        {
            lock (_gate)
            {
                // Under the lock: a node's lines (Append) move the same positions.
                var before = _metricsOffset;
                var shrunk = File.Exists(Files.MetricsPath) && new FileInfo(Files.MetricsPath).Length < _metricsOffset;
                if (shrunk)
                {
                    // The worker rewrote the file (a resume drops the points after its checkpoint): start the history over.
                    _history = new MetricHistory();
                    _snapshotRows = 0;
                    any = true;
                }
                // Parsed under the lock straight into the columns (no point objects): readers wait for one chunk at most.
                if (MetricsFile.ReadNew(Files, ref _metricsOffset, _history) > 0) any = true;
                more = _metricsOffset != before;
            }
        }
        while (more);

        lock (_gate)
        {
            var logs = LogFile.ReadNew(Files, ref _logOffset, _logFence);
            if (logs.Count > 0)
            {
                _logs.AddRange(logs);
                any = true;
            }
        }
        if (any)
        {
            lock (_gate)
            {
                Version++;
                _slices.Clear();
            }
        }
        return any;
    }
}
