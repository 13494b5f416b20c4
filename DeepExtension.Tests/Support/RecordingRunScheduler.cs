using DeepExtension.Core.Runs;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Records the runs that would be queued instead of starting workers: for tests that stop at the run service.
/// The end-to-end tests use the real Quartz scheduler.
/// </summary>
public sealed class RecordingRunScheduler : IRunScheduler
{
    public List<Guid> Queued { get; } = [];

    public Task ScheduleAsync(Guid runId, CancellationToken cancellationToken)
    {
        Queued.Add(runId);
        return Task.CompletedTask;
    }

    public Task<bool> UnscheduleAsync(Guid runId, CancellationToken cancellationToken) => Task.FromResult(Queued.Remove(runId));
}
