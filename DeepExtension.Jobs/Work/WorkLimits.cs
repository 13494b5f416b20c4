using System.Collections.Concurrent;
using DeepExtension.Core.Work;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// How many items of each kind run at once, so that one kind never takes every scheduler thread: a Save starts
/// within seconds whatever the training queue holds. An item over its kind's limit (or waiting for a device slot)
/// does not wait on a scheduler thread; its job is fired again <see cref="RetryDelay"/> later
/// (see <see cref="WorkJob{TItem}"/>). The scheduler's thread pool is sized to hold every kind's limit at once.
/// </summary>
public sealed class WorkLimits
{
    /// <summary>The limit of one kind: <c>DeepExtension:Work:MaxConcurrent:Train</c>, <c>…:Save</c>, <c>…:Deploy</c>.</summary>
    public const string MaxConcurrentSection = "DeepExtension:Work:MaxConcurrent";
    public const string RetrySecondsKey = "DeepExtension:Work:RetrySeconds";
    /// <summary>How long a work item's lease lasts without a heartbeat (see <see cref="WorkLease"/>).</summary>
    public const string LeaseSecondsKey = "DeepExtension:Work:LeaseSeconds";

    /// <summary>Trains are limited by their device slots first (<see cref="Runs.RunSlots"/>); this caps them across devices.</summary>
    public const int DefaultTrains = 4;
    public const int DefaultOthers = 2;

    private readonly ConcurrentDictionary<WorkKind, SemaphoreSlim> _kinds = new();
    private readonly IConfiguration _configuration;

    public WorkLimits(IConfiguration configuration)
    {
        _configuration = configuration;
        RetryDelay = TimeSpan.FromSeconds(Math.Clamp(configuration.GetValue(RetrySecondsKey, 5.0), 0.2, 600));
        LeaseDuration = TimeSpan.FromSeconds(Math.Clamp(configuration.GetValue(LeaseSecondsKey, 30.0), 3, 3600));
    }

    /// <summary>How long a lease lasts without a heartbeat: after a crash, how long its work waits before another owner adopts it.</summary>
    public TimeSpan LeaseDuration { get; }

    /// <summary>How long an item that could not start waits before its job is fired again.</summary>
    public TimeSpan RetryDelay { get; }

    public int LimitOf(WorkKind kind) =>
        Math.Max(1, _configuration.GetValue($"{MaxConcurrentSection}:{kind}", kind == WorkKind.Train ? DefaultTrains : DefaultOthers));

    /// <summary>Scheduler threads enough for every kind at its limit, plus a few for items that look in and go again.</summary>
    public int SchedulerThreads => Math.Max(10, Enum.GetValues<WorkKind>().Sum(LimitOf) + 2);

    /// <summary>A place among the items of <paramref name="kind"/> running now, or null when all are taken.</summary>
    public IDisposable? TryEnter(WorkKind kind)
    {
        var semaphore = _kinds.GetOrAdd(kind, k => new SemaphoreSlim(LimitOf(k), LimitOf(k)));
        return semaphore.Wait(0) ? new Release(semaphore) : null;
    }

    /// <summary>Gives back a semaphore's place once.</summary>
    internal sealed class Release(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) semaphore.Release();
        }
    }
}
