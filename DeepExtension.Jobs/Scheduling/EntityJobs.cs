using Quartz;

namespace DeepExtension.Jobs.Scheduling;

/// <summary>
/// One durable Quartz job per entity (a run, a save, a deployment): keyed by the entity's id, carrying the id in its
/// data map, fired at once, and fired again after a crash of the process that ran it (RequestRecovery).
/// </summary>
public static class EntityJobs
{
    public const string EntityIdKey = "entityId";

    public static JobKey KeyOf(string group, Guid id) => new(id.ToString("N"), group);

    public static async Task ScheduleAsync<TJob>(ISchedulerFactory schedulers, string group, Guid id, CancellationToken cancellationToken)
        where TJob : IJob
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var job = JobBuilder.Create<TJob>()
            .WithIdentity(KeyOf(group, id))
            .UsingJobData(EntityIdKey, id.ToString())
            .RequestRecovery()
            .Build();
        var trigger = TriggerBuilder.Create().ForJob(job).StartNow().Build();
        await scheduler.ScheduleJob(job, trigger, new ScheduleJobOptions { Replace = true }, cancellationToken);
    }

    // Jobs stored by earlier versions carry the id under their own key.
    private static readonly string[] LegacyIdKeys = ["runId", "saveId"];

    public static Guid IdOf(IJobExecutionContext context)
    {
        var data = context.MergedJobDataMap;
        var key = data.ContainsKey(EntityIdKey) ? EntityIdKey : LegacyIdKeys.First(data.ContainsKey);
        return Guid.Parse(data.GetString(key)!);
    }
}
