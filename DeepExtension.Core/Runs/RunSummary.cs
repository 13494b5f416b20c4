namespace DeepExtension.Core.Runs;

/// <summary>
/// Where a run stands and what it reached, derived from its metric points and nothing else: the list, the run's
/// page, Compare, the model card and the database's summary columns all show these numbers, so they agree.
/// </summary>
/// <param name="Step">The last logged step.</param>
/// <param name="TotalSteps">The planned steps (0 when no point recorded them: lines of older versions).</param>
/// <param name="LastLoss">The training loss of the last step that logged one (null when that loss diverged).</param>
/// <param name="BestLoss">The lowest finite training loss.</param>
/// <param name="TokensPerSecond">The last step's throughput.</param>
/// <param name="MeanTokensPerSecond">The mean throughput over every logged step.</param>
/// <param name="EtaSeconds">The last training step's estimate of the time left.</param>
public sealed record RunSummary(
    long Step, long TotalSteps, double Epoch, double? LastLoss, double? BestLoss, double? LastEvalLoss, double? BestEvalLoss,
    double? TokensPerSecond, double? MeanTokensPerSecond, double? EtaSeconds, int Points)
{
    public static readonly RunSummary Empty = new(0, 0, 0, null, null, null, null, null, null, null, 0);

    public static RunSummary Of(IEnumerable<MetricPoint> points)
    {
        var builder = new Builder();
        foreach (var point in points) builder.Add(point);
        return builder.Build();
    }

    /// <summary>Folds points in one at a time, as a live history grows.</summary>
    public sealed class Builder
    {
        private long _step, _total;
        private double _epoch;
        private double? _lastLoss, _bestLoss, _lastEval, _bestEval, _tokens, _eta;
        private double _tokensSum;
        private int _tokensCount, _points;

        public void Add(MetricPoint point) =>
            Add(point.Step, point.Epoch, point.TotalSteps, point[MetricPoint.Keys.Loss], point[MetricPoint.Keys.EvalLoss],
                point[MetricPoint.Keys.TokensPerSecond], point[MetricPoint.Keys.EtaSeconds]);

        /// <summary>One point's fields: a value is null when the point did not log it, NaN when it logged a diverged value.</summary>
        public void Add(long step, double epoch, long? totalSteps, double? loss, double? evalLoss, double? tokensPerSecond, double? eta)
        {
            _points++;
            _step = Math.Max(_step, step);
            _epoch = Math.Max(_epoch, epoch);
            if (totalSteps is { } total) _total = total;
            if (loss is { } l)
            {
                _lastLoss = double.IsFinite(l) ? l : null;
                if (double.IsFinite(l)) _bestLoss = _bestLoss is { } best ? Math.Min(best, l) : l;
                // Only training steps estimate the time left; an evaluation point keeps the step's estimate.
                _eta = eta is { } e && double.IsFinite(e) ? e : null;
            }
            if (evalLoss is { } ev)
            {
                _lastEval = double.IsFinite(ev) ? ev : null;
                if (double.IsFinite(ev)) _bestEval = _bestEval is { } best ? Math.Min(best, ev) : ev;
            }
            if (tokensPerSecond is { } tokens && double.IsFinite(tokens))
            {
                _tokens = tokens;
                _tokensSum += tokens;
                _tokensCount++;
            }
        }

        public RunSummary Build() => new(_step, _total, _epoch, _lastLoss, _bestLoss, _lastEval, _bestEval,
            _tokens, _tokensCount > 0 ? _tokensSum / _tokensCount : null, _eta, _points);
    }
}
