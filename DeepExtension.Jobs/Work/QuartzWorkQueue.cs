using DeepExtension.Core.Work;
using DeepExtension.Jobs.Deployment;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Saving;
using Quartz;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// Work items become Quartz jobs in the persistent store, so queued work survives restarts: one durable job per item,
/// keyed by the item's id in its kind's group, carrying the id in its data map, fired at once, and fired again after a
/// crash of the process that ran it (RequestRecovery). The groups, job classes and data keys are those earlier
/// versions stored, so jobs queued before an upgrade still run.
/// </summary>
public sealed class QuartzWorkQueue(ISchedulerFactory schedulers) : IWorkQueue
{
    public const string EntityIdKey = "entityId";

    // Jobs stored by earlier versions carry the id under their own key.
    private static readonly string[] LegacyIdKeys = ["runId", "saveId"];

    /// <summary>The Quartz group of each kind.</summary>
    public static string GroupOf(WorkKind kind) => kind switch
    {
        WorkKind.Train => "training-runs",
        WorkKind.Save => "model-saves",
        WorkKind.Deploy => "model-deployments",
        WorkKind.Download => "hub-downloads",
        WorkKind.Evaluate => "model-evaluations",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The job class that executes each kind.</summary>
    public static Type JobTypeOf(WorkKind kind) => kind switch
    {
        WorkKind.Train => typeof(TrainingRunJob),
        WorkKind.Save => typeof(ModelSaveJob),
        WorkKind.Deploy => typeof(DeploymentJob),
        WorkKind.Download => typeof(HubDownloads.HubDownloadJob),
        WorkKind.Evaluate => typeof(Evaluations.EvaluationJob),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static JobKey KeyOf(WorkKind kind, Guid id) => new(id.ToString("N"), GroupOf(kind));

    /// <summary>The work item a firing job is for (ids stored under an earlier key included).</summary>
    public static Guid IdOf(IJobExecutionContext context)
    {
        var data = context.MergedJobDataMap;
        var key = data.ContainsKey(EntityIdKey) ? EntityIdKey : LegacyIdKeys.First(data.ContainsKey);
        return Guid.Parse(data.GetString(key)!);
    }

    public async Task EnqueueAsync(WorkKind kind, Guid id, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var job = JobBuilder.Create().OfType(JobTypeOf(kind))
            .WithIdentity(KeyOf(kind, id))
            .UsingJobData(EntityIdKey, id.ToString())
            .RequestRecovery()
            .Build();
        var trigger = TriggerBuilder.Create().ForJob(job).StartNow().Build();
        await scheduler.ScheduleJob(job, trigger, new ScheduleJobOptions { Replace = true }, cancellationToken);
    }

    /// <summary>
    /// Fires the executing job again after <paramref name="delay"/> (a second trigger, so the job outlives the one
    /// that fired now). Nothing when the job was removed meanwhile (the item was cancelled).
    /// </summary>
    public static async Task FireAgainAsync(IJobExecutionContext context, TimeSpan delay)
    {
        // One pending trigger per job is enough: a second one (a cluster node recovered this firing while it still ran
        // elsewhere) would otherwise keep a second chain of retries alive until the item ends.
        var pending = await context.Scheduler.GetTriggersOfJob(context.JobDetail.Key, CancellationToken.None);
        if (pending.Any(t => !t.Key.Equals(context.Trigger.Key) && t.NextFireTimeUtc is not null)) return;
        var trigger = TriggerBuilder.Create().ForJob(context.JobDetail.Key)
            .WithPriority(context.Trigger.Priority)
            .StartAt(DateTimeOffset.UtcNow + delay)
            .Build();
        try
        {
            await context.Scheduler.ScheduleJob(trigger, new ScheduleJobOptions(), CancellationToken.None);
        }
        catch (JobPersistenceException)
        {
            // Removed while this firing looked in (the item was cancelled): nothing to fire again.
            if (await context.Scheduler.Exists(context.JobDetail.Key, CancellationToken.None)) throw;
        }
    }

    /// <summary>A job already executing keeps running, but it finds its item finished and does nothing more.</summary>
    public async Task<bool> RemoveAsync(WorkKind kind, Guid id, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await scheduler.DeleteJob(KeyOf(kind, id), cancellationToken);
            }
            catch (SchedulerException) when (attempt < 5)
            {
                // Quartz lists the job's triggers, then unschedules each: a retry firing that completes (and is removed)
                // in between fails the delete ("Unable to unschedule trigger"). Listing again sees the job as it is now.
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken);
            }
        }
    }

    public async Task<bool> ContainsAsync(WorkKind kind, Guid id, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        return await scheduler.Exists(KeyOf(kind, id), cancellationToken);
    }
}
