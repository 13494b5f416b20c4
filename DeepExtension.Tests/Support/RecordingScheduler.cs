using DeepExtension.Core.Work;

namespace DeepExtension.Tests.Support;

/// <summary>Records the saves and deployments that would be queued instead of starting their jobs.</summary>
public sealed class RecordingScheduler : IWorkQueue
{
    public List<Guid> Queued { get; } = [];

    /// <summary>When set, queueing throws it (a job store that is down).</summary>
    public Exception? Failure { get; set; }

    public Task EnqueueAsync(WorkKind kind, Guid id, CancellationToken cancellationToken)
    {
        if (Failure is not null) throw Failure;
        Queued.Add(id);
        return Task.CompletedTask;
    }

    public Task<bool> RemoveAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.FromResult(Queued.Remove(id));

    public Task<bool> ContainsAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) => Task.FromResult(Queued.Contains(id));
}
