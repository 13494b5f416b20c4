using Microsoft.Extensions.Logging;

namespace DeepExtension.Core.Runs;

/// <summary>New metrics and log lines of one run since the previous update (the first update is the history).</summary>
public sealed record RunUpdate(IReadOnlyList<MetricPoint> Metrics, IReadOnlyList<LogLine> Logs);

/// <summary>
/// Live view of runs for the UI: a subscription tails a run's metrics and log files and calls back with
/// what is new, at most every <see cref="Interval"/> (the throttle), so a busy run costs one read per tick
/// however many points it writes. Works wherever the worker runs, as long as it shares the data folder.
/// </summary>
public sealed class RunUpdatesStore(ILogger<RunUpdatesStore> logger) : IDisposable
{
    private readonly CancellationTokenSource _shutdown = new();

    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Starts tailing; dispose the result to stop. Callbacks never overlap for one subscription.</summary>
    public IDisposable Subscribe(RunFiles run, Func<RunUpdate, Task> onUpdate)
    {
        var subscription = new Subscription(CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
        subscription.Loop = Task.Run(() => TailAsync(run, onUpdate, subscription.Cancellation.Token));
        return subscription;
    }

    private async Task TailAsync(RunFiles run, Func<RunUpdate, Task> onUpdate, CancellationToken cancellationToken)
    {
        long metricsOffset = 0, logOffset = 0;
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                var metrics = MetricsFile.ReadNew(run, ref metricsOffset);
                var logs = LogFile.ReadNew(run, ref logOffset);
                if (metrics.Count > 0 || logs.Count > 0)
                {
                    await onUpdate(new RunUpdate(metrics, logs));
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A failing subscriber (a closed circuit) must not take the store down.
            logger.LogWarning(ex, "Live updates for run folder {RunDirectory} stopped", run.Directory);
        }
    }

    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
    }

    private sealed class Subscription(CancellationTokenSource cancellation) : IDisposable
    {
        public CancellationTokenSource Cancellation { get; } = cancellation;
        public Task Loop { get; set; } = Task.CompletedTask;

        public void Dispose()
        {
            if (!Cancellation.IsCancellationRequested) Cancellation.Cancel();
        }
    }
}
