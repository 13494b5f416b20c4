using System.Diagnostics;
using System.Text.Json;
using DeepExtension.Core.Runs;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// The one writer of a run's records: <c>metrics.jsonl</c> (a point per step and per evaluation),
/// <c>progress.json</c> (replaced atomically after each point) and <c>train.log.jsonl</c>. Keeps the best losses and
/// the training time across resumes (time spent before a resume is taken from the last kept point).
/// </summary>
public sealed class RunRecorder(RunFiles files)
{
    private readonly Stopwatch _clock = new();
    private double _elapsedBefore;
    private double? _bestLoss;
    private double? _bestEvalLoss;

    /// <summary>Starts the training clock (metric points carry the time since the run first started).</summary>
    public void StartClock() => _clock.Start();

    public void Log(RunLogLevel level, string message) => LogFile.Append(files, new LogLine(DateTimeOffset.UtcNow, level, message));

    /// <summary>Appends a metric point and replaces progress.json with what it says.</summary>
    public void Record(long step, long totalSteps, double epoch, IReadOnlyDictionary<string, double> values)
    {
        if (values.TryGetValue(MetricPoint.Keys.Loss, out var loss) && double.IsFinite(loss))
        {
            _bestLoss = _bestLoss is { } best ? Math.Min(best, loss) : loss;
        }
        if (values.TryGetValue(MetricPoint.Keys.EvalLoss, out var evalLoss))
        {
            _bestEvalLoss = _bestEvalLoss is { } best ? Math.Min(best, evalLoss) : evalLoss;
        }
        MetricsFile.Append(files, new MetricPoint(step, Math.Round(epoch, 4), Math.Round(_elapsedBefore + _clock.Elapsed.TotalSeconds, 3), values));
        var progress = new RunProgress(step, totalSteps, epoch,
            values.TryGetValue(MetricPoint.Keys.Loss, out var l) ? l : null, _bestLoss, _bestEvalLoss,
            values.TryGetValue(MetricPoint.Keys.TokensPerSecond, out var tps) ? tps : null,
            values.TryGetValue(MetricPoint.Keys.EtaSeconds, out var eta) ? eta : null);
        var temp = files.ProgressPath + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(progress));
        File.Move(temp, files.ProgressPath, overwrite: true);
    }

    /// <summary>Resuming at <paramref name="step"/>: drops points logged after it, so the curve continues without
    /// duplicates, and takes the best losses and the elapsed time from the points kept.</summary>
    public void ResumeAt(long step)
    {
        var kept = MetricsFile.ReadAll(files).Where(p => p.Step <= step).ToList();
        _elapsedBefore = kept.Count > 0 ? kept.Max(p => p.ElapsedSeconds) : 0;
        _bestLoss = kept.Select(p => p[MetricPoint.Keys.Loss]).Where(v => v is not null && double.IsFinite(v.Value)).Min();
        _bestEvalLoss = kept.Select(p => p[MetricPoint.Keys.EvalLoss]).Where(v => v is not null && double.IsFinite(v.Value)).Min();
        var temp = files.MetricsPath + ".tmp";
        File.WriteAllLines(temp, kept.Select(p => p.ToJsonLine()));
        File.Move(temp, files.MetricsPath, overwrite: true);
    }
}
