using DeepExtension.Core.Deployment;
using DeepExtension.Jobs.Scheduling;
using Quartz;

namespace DeepExtension.Jobs.Deployment;

/// <summary>Deployments become Quartz jobs in the persistent store, like runs and saves.</summary>
public sealed class QuartzDeploymentScheduler(ISchedulerFactory schedulers) : IDeploymentScheduler
{
    public const string Group = "model-deployments";

    public Task ScheduleAsync(Guid deploymentId, CancellationToken cancellationToken) =>
        EntityJobs.ScheduleAsync<DeploymentJob>(schedulers, Group, deploymentId, cancellationToken);
}
