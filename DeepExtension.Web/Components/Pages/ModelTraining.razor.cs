using DeepExtension.Core.Common;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using Microsoft.AspNetCore.Components;
using MudBlazor;

using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Web.Components.Pages;

public partial class ModelTraining
{
    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required LiveRunStore Live { get; init; }

    /// <summary>The "any" entry of the status and method filters.</summary>
    internal const string AnyValue = "";

    private IReadOnlyList<TrainingRun>? _runs;
    private readonly LiveRows<TrainingRun> _rows = new(r => r.Id);
    private Dictionary<Guid, string> _datasetLabels = [];
    private string? _search;
    private string _statusFilter = AnyValue;
    private string _methodFilter = AnyValue;
    /// <summary>Selected run ids in the order they were ticked (the Compare page colours by it). Ids, not row objects:
    /// every reload brings new TrainingRun instances, and the selection must survive it.</summary>
    private readonly List<Guid> _selected = [];
    /// <summary>Running runs watched through the live store: their rows show what their points say, step by step.</summary>
    private readonly Dictionary<Guid, LiveRunSubscription> _live = [];

    protected override ChangedWork WatchedWork => ChangedWork.Trains | ChangedWork.Models;

    protected override async Task ReloadAsync()
    {
        var runs = await Runs.ListAsync(Stopping);
        if (_runs is null || runs.Any(r => !_datasetLabels.ContainsKey(r.DatasetVersionId)))
        {
            _datasetLabels = (await Datasets.ListAsync(Stopping))
                .SelectMany(d => d.Versions.Select(v => (v.Id, Label: $"{d.Name} v{v.VersionNumber}")))
                .ToDictionary(x => x.Id, x => x.Label);
        }
        _runs = runs;
        _rows.Update(runs);
        WatchRunning(runs);
        // A run deleted elsewhere leaves the selection.
        var present = runs.Select(r => r.Id).ToHashSet();
        _selected.RemoveAll(id => !present.Contains(id));
    }

    /// <summary>Running runs get (or keep) a live subscription; the others drop theirs. Rows take the live summaries.</summary>
    private void WatchRunning(IReadOnlyList<TrainingRun> runs)
    {
        var running = runs.Where(r => r.Status == WorkStatus.Running).ToDictionary(r => r.Id);
        foreach (var id in _live.Keys.Where(id => !running.ContainsKey(id)).ToList())
        {
            _live[id].Dispose();
            _live.Remove(id);
        }
        foreach (var (id, run) in running)
        {
            if (!_live.ContainsKey(id)) _live[id] = Live.Subscribe(Runs.FilesOf(run), () => InvokeAsync(ApplyLiveSummaries));
        }
        ApplyLiveSummaries();
    }

    /// <summary>The database row of a running run lags its points by up to a tick; the row shows the points' summary.</summary>
    private void ApplyLiveSummaries()
    {
        foreach (var row in _rows.Rows)
        {
            if (_live.TryGetValue(row.Item.Id, out var live) && live.Run.Loaded) TrainingRunService.Apply(row.Item, live.Run.Summary);
        }
        StateHasChanged();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var subscription in _live.Values) subscription.Dispose();
            _live.Clear();
        }
        base.Dispose(disposing);
    }

    private void SetSearch(string? text) => _search = text;

    /// <summary>The table's filter: text in the name, base model or dataset; status; method.</summary>
    private bool Matches(LiveRow<TrainingRun> row)
    {
        var run = row.Item;
        if (_statusFilter != AnyValue && run.Status.ToString() != _statusFilter) return false;
        if (_methodFilter != AnyValue && run.MethodName != _methodFilter) return false;
        if (string.IsNullOrWhiteSpace(_search)) return true;
        var text = _search.Trim();
        return run.Name.Contains(text, StringComparison.OrdinalIgnoreCase)
            || run.BaseModelTechnicalName.Contains(text, StringComparison.OrdinalIgnoreCase)
            || DatasetLabel(run.DatasetVersionId).Contains(text, StringComparison.OrdinalIgnoreCase);
    }

    private void SetSelected(Guid id, bool selected)
    {
        if (!selected) _selected.Remove(id);
        else if (!_selected.Contains(id)) _selected.Add(id);
    }

    private IReadOnlyList<Guid> SelectedRuns() => _selected;

    /// <summary>The Compare page for the selection (hidden rows included), or null below two runs.</summary>
    private string? CompareHref() => _selected.Count >= 2
        ? "/model-training/compare?runs=" + string.Join(",", _selected.Select(id => id.ToString()))
        : null;

    private static object DurationSortKey(LiveRow<TrainingRun> row) => row.Item.StartedAtUtc is { } started
        ? (row.Item.FinishedAtUtc ?? DateTime.UtcNow) - started
        : TimeSpan.MaxValue;

    /// <summary>Runs without a loss sort after every run with one.</summary>
    private static object BestLossSortKey(LiveRow<TrainingRun> row) => row.Item.BestLoss is { } loss && double.IsFinite(loss) ? loss : double.MaxValue;

    private static string Started(TrainingRun run) =>
        run.StartedAtUtc is { } started ? started.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) : "—";

    private string DatasetLabel(Guid versionId) => _datasetLabels.TryGetValue(versionId, out var label) ? label : "—";

    private async Task CancelAsync(TrainingRun run)
    {
        var result = await Runs.CancelAsync(run.Id);
        Snackbar.Add(result.Succeeded ? $"Cancelling {run.Name}." : result.AllErrors, result.Succeeded ? Severity.Info : Severity.Error);
        await ReloadAsync();
    }

    private async Task ResumeAsync(TrainingRun run)
    {
        var result = await Runs.ResumeAsync(run.Id);
        Snackbar.Add(result.Succeeded ? $"{run.Name} queued to resume from its last checkpoint." : result.AllErrors,
            result.Succeeded ? Severity.Info : Severity.Error);
        await ReloadAsync();
    }

    internal static Color StatusColor(WorkStatus status) => status switch
    {
        WorkStatus.Queued => Color.Default,
        WorkStatus.Running => Color.Info,
        WorkStatus.Succeeded => Color.Success,
        WorkStatus.Failed => Color.Error,
        _ => Color.Warning,
    };

    private static string Duration(TrainingRun run) => run.StartedAtUtc is { } started
        ? Format((run.FinishedAtUtc ?? DateTime.UtcNow) - started)
        : "—";

    internal static string Format(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes:00}m" : span.TotalMinutes >= 1 ? $"{span.Minutes}m {span.Seconds:00}s" : $"{span.Seconds}s";

    private static string Loss(double? loss) => RunComparisonService.FormatNumber(loss);

}
