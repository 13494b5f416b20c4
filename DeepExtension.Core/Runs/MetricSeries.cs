namespace DeepExtension.Core.Runs;

/// <summary>The x axis of a metric chart.</summary>
public enum MetricAxis
{
    Step,
    Epoch,
    Elapsed,
}

/// <summary>
/// What a chart draws of one metric: [x, y] pairs (y null for a gap: a diverged value), at most about
/// <c>maxPoints</c> of them however long the run, and how many points the run logged for it.
/// </summary>
public sealed record SeriesSlice(IReadOnlyList<double?[]> Points, int Total, bool Reduced);

/// <summary>
/// Reduces a metric's history where it lives (the server), so a 100k-step run sends a few thousand points to the
/// browser. EMA smoothing runs over every point first, so a value reads the same zoomed in or out; then min/max
/// buckets keep each bucket's lowest and highest value in x order, so spikes survive. Inside a zoomed window the
/// points are sent at full resolution (up to <see cref="MaxWindowPoints"/>), outside it reduced.
/// </summary>
public static class MetricSeries
{
    /// <summary>Most points drawn per series outside a zoomed window (and for the whole series when not zoomed).</summary>
    public const int MaxPoints = 2000;

    /// <summary>Most points drawn inside a zoomed window; a wider window is reduced to this.</summary>
    public const int MaxWindowPoints = 20_000;

    public static MetricAxis ParseAxis(string? axis) => axis switch
    {
        "epoch" => MetricAxis.Epoch,
        "elapsed" => MetricAxis.Elapsed,
        _ => MetricAxis.Step,
    };

    /// <summary>As <see cref="Project(MetricHistory, string, MetricAxis, double, double?, double?, int, int)"/>, over points (tests, one-off callers).</summary>
    public static SeriesSlice Project(IReadOnlyList<MetricPoint> points, string metric, MetricAxis axis, double alpha,
        double? windowMin = null, double? windowMax = null, int maxPoints = MaxPoints, int maxWindowPoints = MaxWindowPoints) =>
        Project(MetricHistory.Of(points), metric, axis, alpha, windowMin, windowMax, maxPoints, maxWindowPoints);

    /// <summary>
    /// <paramref name="metric"/> of <paramref name="history"/> mapped to <paramref name="axis"/>, smoothed by
    /// <paramref name="alpha"/> (0 = raw … 0.999), reduced to <paramref name="maxPoints"/> outside the window
    /// [<paramref name="windowMin"/>, <paramref name="windowMax"/>] (none: the whole series is reduced).
    /// </summary>
    public static SeriesSlice Project(MetricHistory history, string metric, MetricAxis axis, double alpha,
        double? windowMin = null, double? windowMax = null, int maxPoints = MaxPoints, int maxWindowPoints = MaxWindowPoints)
    {
        var (x, y) = history.Column(metric, axis);
        Smooth(y, alpha);
        var total = x.Length;
        var kept = new List<int>(Math.Min(total, maxPoints + maxWindowPoints));
        if (windowMin is not { } min || windowMax is not { } max || !(min < max))
        {
            Reduce(y, 0, total, maxPoints, kept);
        }
        else
        {
            // Whole range (so the user can pan and zoom out) with the window dense: the points just outside it keep the
            // line continuous at its edges.
            var first = Array.FindIndex(x, v => v >= min);
            if (first < 0) first = total;
            var end = Array.FindLastIndex(x, v => v <= max) + 1;
            if (end < first) end = first;
            var from = Math.Max(0, first - 1);
            var to = Math.Min(total, end + 1);
            Reduce(y, 0, from, maxPoints / 2, kept);
            Reduce(y, from, to, maxWindowPoints, kept);
            Reduce(y, to, total, maxPoints / 2, kept);
        }
        var points = new List<double?[]>(kept.Count);
        foreach (var i in kept) points.Add([x[i], double.IsFinite(y[i]) ? y[i] : null]);
        return new SeriesSlice(points, total, points.Count < total);
    }

    /// <summary>EMA over every finite value in place (a diverged value stays a gap and does not reset the average).</summary>
    private static void Smooth(double[] y, double alpha)
    {
        var a = double.IsFinite(alpha) && alpha > 0 ? Math.Min(alpha, 0.999) : 0;
        if (a == 0) return;
        double? average = null;
        for (var i = 0; i < y.Length; i++)
        {
            if (!double.IsFinite(y[i])) continue;
            average = average is { } s ? a * s + (1 - a) * y[i] : y[i];
            y[i] = average.Value;
        }
    }

    /// <summary>
    /// Adds to <paramref name="kept"/> the indices in [<paramref name="from"/>, <paramref name="to"/>) to draw, at most
    /// <paramref name="max"/> of them in order: the first and last stay, and every bucket in between contributes its
    /// lowest and highest y in x order, so spikes survive. Gaps inside a bucket are dropped; a range no longer than
    /// <paramref name="max"/> is kept whole.
    /// </summary>
    private static void Reduce(double[] y, int from, int to, int max, List<int> kept)
    {
        var n = to - from;
        if (n <= 0) return;
        if (max <= 0 || n <= max)
        {
            for (var i = from; i < to; i++) kept.Add(i);
            return;
        }
        if (max < 4)
        {
            kept.Add(from);
            kept.Add(to - 1);
            return;
        }
        var buckets = (max - 2) / 2;
        var size = (double)(n - 2) / buckets;
        kept.Add(from);
        for (var b = 0; b < buckets; b++)
        {
            var start = from + 1 + (int)Math.Floor(b * size);
            var stop = Math.Min(to - 1, from + 1 + (int)Math.Floor((b + 1) * size));
            int lo = -1, hi = -1;
            for (var i = start; i < stop; i++)
            {
                if (!double.IsFinite(y[i])) continue;
                if (lo < 0 || y[i] < y[lo]) lo = i;
                if (hi < 0 || y[i] > y[hi]) hi = i;
            }
            if (lo < 0) continue;
            if (lo == hi) kept.Add(lo);
            else
            {
                kept.Add(Math.Min(lo, hi));
                kept.Add(Math.Max(lo, hi));
            }
        }
        kept.Add(to - 1);
    }
}
