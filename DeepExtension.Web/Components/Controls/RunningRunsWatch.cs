using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// The running runs a page lists, watched through the shared <see cref="LiveRunStore"/>: a run's database row lags
/// its metric points by up to a tick, so the rows shown take the points' summary. One subscription per running run,
/// dropped when it stops running or the page goes.
/// </summary>
public sealed class RunningRunsWatch(LiveRunStore live, TrainingRunService runs, Func<Task> onChanged) : IDisposable
{
    private readonly Dictionary<Guid, LiveRunSubscription> _subscriptions = [];

    /// <summary>Subscribes to the running runs among <paramref name="shown"/> and drops the others.</summary>
    public void Watch(IEnumerable<TrainingRun> shown)
    {
        var running = shown.Where(r => r.Status == WorkStatus.Running).ToDictionary(r => r.Id);
        foreach (var id in _subscriptions.Keys.Where(id => !running.ContainsKey(id)).ToList())
        {
            _subscriptions[id].Dispose();
            _subscriptions.Remove(id);
        }
        foreach (var (id, run) in running)
        {
            if (!_subscriptions.ContainsKey(id)) _subscriptions[id] = live.Subscribe(runs.FilesOf(run), onChanged);
        }
    }

    /// <summary>Gives each watched run among <paramref name="rows"/> its points' summary.</summary>
    public void Apply(IEnumerable<TrainingRun> rows)
    {
        foreach (var row in rows)
        {
            if (_subscriptions.TryGetValue(row.Id, out var subscription) && subscription.Run.Loaded) TrainingRunService.Apply(row, subscription.Run.Summary);
        }
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions.Values) subscription.Dispose();
        _subscriptions.Clear();
    }
}
