using DeepExtension.Core.Work;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Records the runs that would be queued instead of starting workers: for tests that stop at the run service.
/// The end-to-end tests use the real Quartz scheduler.
/// </summary>
public sealed class RecordingRunScheduler : IWorkQueue
{
    public List<Guid> Queued { get; } = [];

    public Task EnqueueAsync(WorkKind kind, Guid id, CancellationToken cancellationToken)
    {
        Queued.Add(id);
        return Task.CompletedTask;
    }

    public Task<bool> RemoveAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.FromResult(Queued.Remove(id));

    public Task<bool> ContainsAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.FromResult(Queued.Contains(id));
}
