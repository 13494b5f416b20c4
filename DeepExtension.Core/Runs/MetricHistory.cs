using System.Text.Json;
using DeepExtension.Core.Work;

namespace DeepExtension.Core.Runs;

/// <summary>
/// A run's metric points held by column, as a time-series store holds them: per row the step, epoch, elapsed time and
/// planned steps; per metric the rows that logged it and their values (NaN for a diverged value). A 100k-step history
/// takes a few MiB instead of a dictionary per point, a metrics.jsonl line is appended without allocating, and a chart's
/// series is a scan of one column. The <see cref="RunSummary"/> is folded in as rows arrive. Not thread-safe: the owner
/// (<see cref="LiveRun"/>) guards it.
/// </summary>
public sealed class MetricHistory
{
    private readonly List<long> _steps = [];
    private readonly List<double> _epochs = [];
    private readonly List<double> _elapsed = [];
    /// <summary>Per row: the planned steps, or -1 when the line did not record them (older versions).</summary>
    private readonly List<long> _totals = [];
    private readonly Dictionary<string, MetricColumn> _columns = new(StringComparer.Ordinal);
    private readonly MetricLineReader _reader;
    private readonly RunSummary.Builder _summary = new();
    private int _latestTrainingRow = -1;

    public MetricHistory()
        : this(new LeaseFence())
    {
    }

    /// <param name="fence">what the lines before this history's first line said about the lease (a history continued from a <see cref="MetricSnapshot"/>)</param>
    internal MetricHistory(LeaseFence fence) => _reader = new MetricLineReader(fence);

    /// <summary>The highest lease token the lines read so far carried: the reader state a <see cref="MetricSnapshot"/> keeps.</summary>
    internal long FenceToken => _reader.FenceToken;

    public int Count => _steps.Count;

    public RunSummary Summary => _summary.Build();

    /// <summary>Every metric key any row logged.</summary>
    public IReadOnlyCollection<string> Keys => _columns.Keys;

    /// <summary>The last row that logged a training loss (evaluation rows carry only eval_loss), as a point.</summary>
    public MetricPoint? LatestTrainingPoint => _latestTrainingRow >= 0 ? PointAt(_latestTrainingRow) : null;

    public static MetricHistory Of(IEnumerable<MetricPoint> points)
    {
        var history = new MetricHistory();
        foreach (var point in points) history.Append(point);
        return history;
    }

    /// <summary>Appends one metrics.jsonl line (lines in file order); false (and nothing appended) when it is not a point, or a stale one (see <see cref="MetricLineReader"/>).</summary>
    public bool AppendLine(ReadOnlySpan<byte> line)
    {
        if (!_reader.Read(line)) return false;
        AppendRow(_reader.Step, _reader.Epoch, _reader.Elapsed, _reader.TotalSteps, _reader.Values);
        return true;
    }

    public void Append(MetricPoint point) =>
        AppendRow(point.Step, point.Epoch, point.ElapsedSeconds, point.TotalSteps, [.. point.Values.Select(v => (v.Key, v.Value))]);

    /// <summary>The one way a single row enters the history (a parsed line, a point); <see cref="Fold"/> adds it to the summary.</summary>
    internal void AppendRow(long step, double epoch, double elapsed, long? total, IReadOnlyList<(string Key, double Value)> values)
    {
        var row = _steps.Count;
        _steps.Add(step);
        _epochs.Add(epoch);
        _elapsed.Add(elapsed);
        _totals.Add(total ?? -1);
        double? loss = null, evalLoss = null, tokens = null, eta = null;
        foreach (var (key, value) in values)
        {
            if (!_columns.TryGetValue(key, out var column)) _columns[key] = column = new MetricColumn();
            column.Set(row, value);
            switch (key)
            {
                case MetricPoint.Keys.Loss: loss = value; break;
                case MetricPoint.Keys.EvalLoss: evalLoss = value; break;
                case MetricPoint.Keys.TokensPerSecond: tokens = value; break;
                case MetricPoint.Keys.EtaSeconds: eta = value; break;
            }
        }
        Fold(row, loss, evalLoss, tokens, eta);
    }

    /// <summary>
    /// A history from whole columns (a <see cref="MetricSnapshot"/>'s), copied in bulk rather than row by row; each row is
    /// then folded into the summary exactly as <see cref="AppendRow"/> folds it. Throws <see cref="InvalidDataException"/>
    /// when the columns do not fit together (lengths differ, a metric's rows are not increasing row numbers).
    /// </summary>
    internal static MetricHistory FromColumns(LeaseFence fence, long[] steps, double[] epochs, double[] elapsed, long[] totals,
        IReadOnlyList<(string Key, int[] Rows, double[] Values)> columns)
    {
        var count = steps.Length;
        if (epochs.Length != count || elapsed.Length != count || totals.Length != count) throw new InvalidDataException("row columns of different lengths");
        var history = new MetricHistory(fence);
        history._steps.AddRange(steps);
        history._epochs.AddRange(epochs);
        history._elapsed.AddRange(elapsed);
        history._totals.AddRange(totals);
        foreach (var (key, rows, values) in columns)
        {
            if (rows.Length != values.Length || history._columns.ContainsKey(key)) throw new InvalidDataException($"metric {key} does not fit");
            for (var i = 0; i < rows.Length; i++)
            {
                if ((uint)rows[i] >= (uint)count || (i > 0 && rows[i] <= rows[i - 1])) throw new InvalidDataException($"metric {key} has rows out of order");
            }
            var column = new MetricColumn();
            column.Rows.AddRange(rows);
            column.Values.AddRange(values);
            history._columns[key] = column;
        }
        // The summary's metrics, each walked with a cursor alongside the rows.
        var loss = new ColumnCursor(history._columns.GetValueOrDefault(MetricPoint.Keys.Loss));
        var evalLoss = new ColumnCursor(history._columns.GetValueOrDefault(MetricPoint.Keys.EvalLoss));
        var tokens = new ColumnCursor(history._columns.GetValueOrDefault(MetricPoint.Keys.TokensPerSecond));
        var eta = new ColumnCursor(history._columns.GetValueOrDefault(MetricPoint.Keys.EtaSeconds));
        for (var row = 0; row < count; row++)
        {
            history.Fold(row, loss.At(row), evalLoss.At(row), tokens.At(row), eta.At(row));
        }
        return history;
    }

    /// <summary>Adds row <paramref name="row"/>, whose summary metrics are given (null: not logged), to the summary and the latest training row.</summary>
    private void Fold(int row, double? loss, double? evalLoss, double? tokens, double? eta)
    {
        if (loss is not null) _latestTrainingRow = row;
        _summary.Add(_steps[row], _epochs[row], _totals[row] is >= 0 and var t ? t : null, loss, evalLoss, tokens, eta);
    }

    /// <summary>Reads one metric's value row by row, in increasing row order.</summary>
    private struct ColumnCursor(MetricColumn? column)
    {
        private int _next;

        public double? At(int row)
        {
            if (column is null || _next >= column.Count || column.Rows[_next] != row) return null;
            return column.Values[_next++];
        }
    }

    /// <summary>The per-row columns (step, epoch, elapsed seconds, planned steps or -1) as they are stored: what a <see cref="MetricSnapshot"/> writes.</summary>
    internal (List<long> Steps, List<double> Epochs, List<double> Elapsed, List<long> Totals) RowColumns => (_steps, _epochs, _elapsed, _totals);

    /// <summary>Each metric (in the order they first appeared) with the rows that logged it and their values, in row order.</summary>
    internal IEnumerable<(string Key, List<int> Rows, List<double> Values)> Columns =>
        _columns.Select(c => (c.Key, c.Value.Rows, c.Value.Values));

    /// <summary>The row as a point (its values looked up column by column).</summary>
    public MetricPoint PointAt(int row)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, column) in _columns)
        {
            if (column.TryGet(row, out var value)) values[key] = value;
        }
        return new MetricPoint(_steps[row], _epochs[row], _elapsed[row], values) { TotalSteps = _totals[row] is >= 0 and var t ? t : null };
    }

    /// <summary>
    /// <paramref name="metric"/> as x values on <paramref name="axis"/> and y values (NaN for a diverged value), in row
    /// order; empty when no row logged it.
    /// </summary>
    public (double[] X, double[] Y) Column(string metric, MetricAxis axis)
    {
        if (!_columns.TryGetValue(metric, out var column)) return ([], []);
        var x = new double[column.Count];
        var y = new double[column.Count];
        for (var i = 0; i < column.Count; i++)
        {
            var row = column.Rows[i];
            x[i] = axis switch
            {
                MetricAxis.Epoch => _epochs[row],
                MetricAxis.Elapsed => _elapsed[row],
                _ => _steps[row],
            };
            y[i] = column.Values[i];
        }
        return (x, y);
    }

    /// <summary>One metric's rows and values, in row order.</summary>
    private sealed class MetricColumn
    {
        public readonly List<int> Rows = [];
        public readonly List<double> Values = [];

        public int Count => Rows.Count;

        public void Set(int row, double value)
        {
            // A key written twice on one line: the last value stands (as a dictionary would keep it).
            if (Rows.Count > 0 && Rows[^1] == row) Values[^1] = value;
            else
            {
                Rows.Add(row);
                Values.Add(value);
            }
        }

        public bool TryGet(int row, out double value)
        {
            var index = Rows.BinarySearch(row);
            value = index >= 0 ? Values[index] : 0;
            return index >= 0;
        }
    }
}

/// <summary>
/// The one reader of a metrics.jsonl line ({"step":..,"epoch":..,"elapsed":..,"total_steps":..,"lease_token":..,"loss":..,...}):
/// reads it from its UTF-8 bytes into fields that are reused line after line, with metric names interned, so millions of
/// lines parse without an allocation each. A null value (a diverged loss) reads as NaN. Lines are read in file order
/// through one <see cref="LeaseFence"/>: a point written under an outdated lease is left out, and an owner line
/// ({"lease_token":..} alone, written by <see cref="MetricsFile.Rewrite"/>) raises the fence without being a point.
/// </summary>
internal sealed class MetricLineReader
{
    private readonly List<(string Key, double Value)> _values = [];
    private readonly List<(byte[] Utf8, string Name)> _names = [];
    private readonly LeaseFence _fence;

    /// <param name="fence">the fence of the file being read; a new one when the file is read from its start</param>
    public MetricLineReader(LeaseFence? fence = null) => _fence = fence ?? new LeaseFence();

    public long Step { get; private set; }
    public double Epoch { get; private set; }
    public double Elapsed { get; private set; }
    public long? TotalSteps { get; private set; }
    public long? LeaseToken { get; private set; }
    /// <summary>The highest lease token read so far in this file.</summary>
    public long FenceToken => _fence.Token;
    public IReadOnlyList<(string Key, double Value)> Values => _values;

    /// <summary>Reads one line; false when it is not a JSON object with a numeric step, or its lease is outdated.</summary>
    public bool Read(ReadOnlySpan<byte> line)
    {
        _values.Clear();
        long? step = null, total = null, token = null;
        double epoch = 0, elapsed = 0;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("step"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number) step = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("epoch"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number) epoch = reader.GetDouble();
                }
                else if (reader.ValueTextEquals("elapsed"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number) elapsed = reader.GetDouble();
                }
                else if (reader.ValueTextEquals("total_steps"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number) total = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("lease_token"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number) token = reader.GetInt64();
                }
                else
                {
                    var name = NameOf(ref reader);
                    reader.Read();
                    _values.Add((name, reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : double.NaN));
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                }
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            _values.Clear();
            return false;
        }
        // An owner line has no step: it only raises the fence.
        if (!_fence.Admits(token) || step is not { } s)
        {
            _values.Clear();
            return false;
        }
        Step = s;
        Epoch = epoch;
        Elapsed = elapsed;
        TotalSteps = total;
        LeaseToken = token;
        return true;
    }

    /// <summary>The property name the reader is on: one string per distinct name, not one per line.</summary>
    private string NameOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence) return reader.GetString()!;
        var span = reader.ValueSpan;
        foreach (var (utf8, name) in _names)
        {
            if (span.SequenceEqual(utf8)) return name;
        }
        var added = reader.GetString()!;
        // Metric names are a small, fixed set per run; a line of garbage names must not grow the table for good.
        if (_names.Count < 256) _names.Add((span.ToArray(), added));
        return added;
    }
}
