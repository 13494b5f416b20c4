using DeepExtension.Core.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// On start-up, puts back in the queue every run that was Queued or Running when the console stopped and has
/// no job in the store any more; the worker continues from the run's last checkpoint.
/// </summary>
public sealed class RunRecoveryService(TrainingRunService runs, QuartzRunScheduler scheduler, ILogger<RunRecoveryService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var runId in await runs.UnfinishedRunIdsAsync(cancellationToken))
        {
            if (await scheduler.IsScheduledAsync(runId, cancellationToken)) continue;
            logger.LogInformation("Run {RunId} was interrupted; queueing it to resume", runId);
            await scheduler.ScheduleAsync(runId, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
