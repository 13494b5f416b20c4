using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Jobs.Deployment;
using DeepExtension.Jobs.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace DeepExtension.Jobs.Scheduling;

/// <summary>
/// On start-up, puts back in the queue every run and deployment that was Queued or Running when the console stopped
/// and has no job in the store any more: a run continues from its last checkpoint, a deployment starts over (blobs
/// Ollama already received are not uploaded again).
/// </summary>
public sealed class InterruptedWorkRecovery(
    TrainingRunService runs, DeploymentService deployments, ISchedulerFactory schedulers, ILogger<InterruptedWorkRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RequeueAsync<TrainingRunJob>("Run", QuartzRunScheduler.Group, await runs.UnfinishedRunIdsAsync(cancellationToken), cancellationToken);
        await RequeueAsync<DeploymentJob>("Deployment", QuartzDeploymentScheduler.Group, await deployments.UnfinishedIdsAsync(cancellationToken), cancellationToken);
    }

    private async Task RequeueAsync<TJob>(string kind, string group, IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
        where TJob : IJob
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        foreach (var id in ids)
        {
            if (await scheduler.Exists(EntityJobs.KeyOf(group, id), cancellationToken)) continue;
            logger.LogInformation("{Kind} {Id} was interrupted; queueing it again", kind, id);
            await EntityJobs.ScheduleAsync<TJob>(schedulers, group, id, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
