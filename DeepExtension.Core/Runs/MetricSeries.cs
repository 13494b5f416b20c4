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

    public static double XOf(MetricPoint point, MetricAxis axis) => axis switch
    {
        MetricAxis.Epoch => point.Epoch,
        MetricAxis.Elapsed => point.ElapsedSeconds,
        _ => point.Step,
    };

    /// <summary>
    /// <paramref name="metric"/> of <paramref name="points"/> mapped to <paramref name="axis"/>, smoothed by
    /// <paramref name="alpha"/> (0 = raw … 0.999), reduced to <paramref name="maxPoints"/> outside the window
    /// [<paramref name="windowMin"/>, <paramref name="windowMax"/>] (none: the whole series is reduced).
    /// </summary>
    public static SeriesSlice Project(IReadOnlyList<MetricPoint> points, string metric, MetricAxis axis, double alpha,
        double? windowMin = null, double? windowMax = null, int maxPoints = MaxPoints, int maxWindowPoints = MaxWindowPoints)
    {
        var a = double.IsFinite(alpha) && alpha > 0 ? Math.Min(alpha, 0.999) : 0;
        var line = new List<double?[]>();
        double? average = null;
        foreach (var point in points)
        {
            if (!point.Values.TryGetValue(metric, out var y)) continue;
            double? value = null;
            if (double.IsFinite(y))
            {
                average = average is not { } s || a == 0 ? y : a * s + (1 - a) * y;
                value = average;
            }
            line.Add([XOf(point, axis), value]);
        }
        var total = line.Count;
        if (windowMin is not { } min || windowMax is not { } max || !(min < max))
        {
            var reduced = Reduce(line, maxPoints);
            return new SeriesSlice(reduced, total, reduced.Count < total);
        }
        // Whole range (so the user can pan and zoom out) with the window dense: the points just outside it keep the
        // line continuous at its edges.
        var first = line.FindIndex(p => p[0] >= min);
        if (first < 0) first = line.Count;
        var end = line.FindLastIndex(p => p[0] <= max) + 1;
        if (end < first) end = first;
        var from = Math.Max(0, first - 1);
        var to = Math.Min(line.Count, end + 1);
        var before = Reduce(line.GetRange(0, from), maxPoints / 2);
        var inside = Reduce(line.GetRange(from, to - from), maxWindowPoints);
        var after = Reduce(line.GetRange(to, line.Count - to), maxPoints / 2);
        var result = new List<double?[]>(before.Count + inside.Count + after.Count);
        result.AddRange(before);
        result.AddRange(inside);
        result.AddRange(after);
        return new SeriesSlice(result, total, result.Count < total);
    }

    /// <summary>
    /// At most <paramref name="max"/> of [x, y] pairs (x ascending): the first and last stay, and every bucket in
    /// between contributes its lowest and highest y in x order, so spikes survive. Gaps inside a bucket are dropped;
    /// a series no longer than <paramref name="max"/> comes back as is.
    /// </summary>
    public static List<double?[]> Reduce(List<double?[]> points, int max)
    {
        var n = points.Count;
        if (max <= 0 || n <= max) return points;
        if (max < 4) return [points[0], points[n - 1]];
        var buckets = (max - 2) / 2;
        var inner = n - 2;
        var size = (double)inner / buckets;
        var output = new List<double?[]>(max) { points[0] };
        for (var b = 0; b < buckets; b++)
        {
            var start = 1 + (int)Math.Floor(b * size);
            var stop = Math.Min(n - 1, 1 + (int)Math.Floor((b + 1) * size));
            int lo = -1, hi = -1;
            for (var i = start; i < stop; i++)
            {
                if (points[i][1] is not { } y) continue;
                if (lo < 0 || y < points[lo][1]) lo = i;
                if (hi < 0 || y > points[hi][1]) hi = i;
            }
            if (lo < 0) continue;
            if (lo == hi) output.Add(points[lo]);
            else if (lo < hi) output.AddRange([points[lo], points[hi]]);
            else output.AddRange([points[hi], points[lo]]);
        }
        output.Add(points[n - 1]);
        return output;
    }
}
