using System.Diagnostics;
using DeepExtension.Core.Runs;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// The one writer of a run's records: <c>metrics.jsonl</c> (a point per step and per evaluation; each carries where
/// the run stands, from which every summary is derived) and <c>train.log.jsonl</c>. Keeps the training time across
/// resumes (time spent before a resume is taken from the last kept point). Writes only while <paramref name="mayWrite"/>
/// says so (the worker holds the run's lease): a worker that lost the run appends nothing.
/// </summary>
public sealed class RunRecorder(RunFiles files, Func<bool>? mayWrite = null)
{
    private readonly Stopwatch _clock = new();
    private double _elapsedBefore;

    /// <summary>Starts the training clock (metric points carry the time since the run first started).</summary>
    public void StartClock() => _clock.Start();

    private bool MayWrite => mayWrite?.Invoke() ?? true;

    public void Log(RunLogLevel level, string message)
    {
        if (MayWrite) LogFile.Append(files, new LogLine(DateTimeOffset.UtcNow, level, message));
    }

    /// <summary>Appends one point with the step, epoch and total steps it was logged at.</summary>
    public void Record(long step, long totalSteps, double epoch, IReadOnlyDictionary<string, double> values)
    {
        if (!MayWrite) return;
        MetricsFile.Append(files, new MetricPoint(step, Math.Round(epoch, 4), Math.Round(_elapsedBefore + _clock.Elapsed.TotalSeconds, 3), values)
        {
            TotalSteps = totalSteps,
        });
    }

    /// <summary>Resuming at <paramref name="step"/>: drops points logged after it, so the curve continues without
    /// duplicates, and takes the elapsed time from the points kept.</summary>
    public void ResumeAt(long step)
    {
        var kept = MetricsFile.ReadAll(files).Where(p => p.Step <= step).ToList();
        _elapsedBefore = kept.Count > 0 ? kept.Max(p => p.ElapsedSeconds) : 0;
        if (!MayWrite) return;
        // A temp name of this process's own: no other writer's half-written file is ever renamed into place.
        var temp = $"{files.MetricsPath}.{Environment.ProcessId}.tmp";
        File.WriteAllLines(temp, kept.Select(p => p.ToJsonLine()));
        File.Move(temp, files.MetricsPath, overwrite: true);
    }
}
