using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;

namespace DeepExtension.Tests.Support;

/// <summary>Records the saves and deployments that would be queued instead of starting their jobs.</summary>
public sealed class RecordingScheduler : ISaveScheduler, IDeploymentScheduler
{
    public List<Guid> Queued { get; } = [];

    /// <summary>When set, scheduling throws it (a job store that is down).</summary>
    public Exception? Failure { get; set; }

    public Task ScheduleAsync(Guid id, CancellationToken cancellationToken)
    {
        if (Failure is not null) throw Failure;
        Queued.Add(id);
        return Task.CompletedTask;
    }
}
