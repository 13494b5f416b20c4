using System.Diagnostics;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// The one writer of a run's records: <c>metrics.jsonl</c> (a point per step and per evaluation; each carries where
/// the run stands, from which every summary is derived) and <c>train.log.jsonl</c>. Keeps the training time across
/// resumes (time spent before a resume is taken from the last kept point). Writes only while <paramref name="mayWrite"/>
/// says so (the worker holds the run's lease): a worker that lost the run appends nothing. A check and the append after
/// it are not one step, though: a worker frozen between them appends once it is thawed, after the run was taken over.
/// So each point and log line carries <paramref name="leaseToken"/>, the run's lease's fencing token, and readers leave out
/// a line whose token is older than one before it in its file (<see cref="LeaseFence"/>).
/// </summary>
public sealed class RunRecorder(RunFiles files, Func<bool>? mayWrite = null, long? leaseToken = null)
{
    private readonly Stopwatch _clock = new();
    private double _elapsedBefore;

    /// <summary>Starts the training clock (metric points carry the time since the run first started).</summary>
    public void StartClock() => _clock.Start();

    /// <summary>Whether this worker may write the run's files now (it holds the run's lease): checkpoints too.</summary>
    public bool MayWrite => mayWrite?.Invoke() ?? true;

    public void Log(RunLogLevel level, string message)
    {
        if (MayWrite) LogFile.Append(files, new LogLine(DateTimeOffset.UtcNow, level, message) { LeaseToken = leaseToken });
    }

    /// <summary>Appends one point with the step, epoch and total steps it was logged at.</summary>
    public void Record(long step, long totalSteps, double epoch, IReadOnlyDictionary<string, double> values)
    {
        if (!MayWrite) return;
        MetricsFile.Append(files, new MetricPoint(step, Math.Round(epoch, 4), Math.Round(_elapsedBefore + _clock.Elapsed.TotalSeconds, 3), values)
        {
            TotalSteps = totalSteps,
            LeaseToken = leaseToken,
        });
    }

    /// <summary>Starting at <paramref name="step"/> (a checkpoint's, or 0 for a run that starts over): drops points logged
    /// after it, and those of outdated leases, so the curve continues without duplicates, and takes the elapsed time from
    /// the points kept. The file then ends with this worker's token, before its first point.</summary>
    public void ResumeAt(long step)
    {
        var kept = MetricsFile.ReadAll(files).Where(p => p.Step <= step).ToList();
        _elapsedBefore = kept.Count > 0 ? kept.Max(p => p.ElapsedSeconds) : 0;
        if (!MayWrite) return;
        // Nothing to drop and no token to claim the file with: leave it as it is (a run's first start without a lease).
        if (leaseToken is null && !File.Exists(files.MetricsPath)) return;
        MetricsFile.Rewrite(files, kept, leaseToken);
    }
}
