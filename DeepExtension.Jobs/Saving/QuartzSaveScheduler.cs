using DeepExtension.Core.CompleteModels;
using Quartz;

namespace DeepExtension.Jobs.Saving;

/// <summary>Saves become Quartz jobs in the persistent store: a queued merge survives restarts.</summary>
public sealed class QuartzSaveScheduler(ISchedulerFactory schedulers) : ISaveScheduler
{
    public const string Group = "model-saves";
    public const string SaveIdKey = "saveId";

    public static JobKey KeyOf(Guid saveId) => new(saveId.ToString("N"), Group);

    public async Task ScheduleAsync(Guid saveId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var job = JobBuilder.Create<ModelSaveJob>()
            .WithIdentity(KeyOf(saveId))
            .UsingJobData(SaveIdKey, saveId.ToString())
            .RequestRecovery()
            .Build();
        var trigger = TriggerBuilder.Create().ForJob(job).StartNow().Build();
        await scheduler.ScheduleJob(job, trigger, new ScheduleJobOptions { Replace = true }, cancellationToken);
    }
}
