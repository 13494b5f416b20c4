using DeepExtension.Core.CompleteModels;

namespace DeepExtension.Tests.Support;

/// <summary>Records the saves that would be queued instead of starting merge workers.</summary>
public sealed class RecordingSaveScheduler : ISaveScheduler
{
    public List<Guid> Queued { get; } = [];

    public Task ScheduleAsync(Guid saveId, CancellationToken cancellationToken)
    {
        Queued.Add(saveId);
        return Task.CompletedTask;
    }
}
