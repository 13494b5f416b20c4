using DeepExtension.Core.Runs;
using DeepExtension.Jobs.Scheduling;
using Quartz;

namespace DeepExtension.Jobs.Runs;

/// <summary>Runs become Quartz jobs in the persistent store: queued work survives restarts.</summary>
public sealed class QuartzRunScheduler(ISchedulerFactory schedulers) : IRunScheduler
{
    public const string Group = "training-runs";

    public static JobKey KeyOf(Guid runId) => EntityJobs.KeyOf(Group, runId);

    /// <summary>If the scheduling process dies mid-run, Quartz fires the job again on restart: the run resumes.</summary>
    public Task ScheduleAsync(Guid runId, CancellationToken cancellationToken) =>
        EntityJobs.ScheduleAsync<TrainingRunJob>(schedulers, Group, runId, cancellationToken);

    public async Task<bool> UnscheduleAsync(Guid runId, CancellationToken cancellationToken)
    {
        // A job already executing keeps running, but it finds the run finished and does nothing more.
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        return await scheduler.DeleteJob(KeyOf(runId), cancellationToken);
    }
}
