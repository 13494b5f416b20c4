using DeepExtension.Core.CompleteModels;
using DeepExtension.Jobs.Scheduling;
using Quartz;

namespace DeepExtension.Jobs.Saving;

/// <summary>Saves become Quartz jobs in the persistent store: a queued merge survives restarts.</summary>
public sealed class QuartzSaveScheduler(ISchedulerFactory schedulers) : ISaveScheduler
{
    public const string Group = "model-saves";

    public Task ScheduleAsync(Guid saveId, CancellationToken cancellationToken) =>
        EntityJobs.ScheduleAsync<ModelSaveJob>(schedulers, Group, saveId, cancellationToken);
}
