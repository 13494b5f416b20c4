using DeepExtension.Core.Common;
using DeepExtension.Web.Components.Dialogs;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using Microsoft.AspNetCore.Components;
using MudBlazor;

using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Web.Components.Pages;

public partial class ModelTraining
{
    private readonly TableColumns _columns = new("model-training",
        new TableColumn("base-model", "Base model"),
        new TableColumn("method", "Method", ShownByDefault: false),
        new TableColumn("dataset", "Dataset"),
        new TableColumn("started", "Started", ShownByDefault: false));

    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required LiveRunStore Live { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

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
    private RunningRunsWatch? _watch;

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
        _watch ??= new RunningRunsWatch(Live, Runs, () => InvokeAsync(ApplyLiveSummaries));
        _watch.Watch(runs);
        ApplyLiveSummaries();
        // A run deleted elsewhere leaves the selection.
        var present = runs.Select(r => r.Id).ToHashSet();
        _selected.RemoveAll(id => !present.Contains(id));
    }

    /// <summary>The database row of a running run lags its points by up to a tick; the row shows the points' summary.</summary>
    private void ApplyLiveSummaries()
    {
        _watch?.Apply(_rows.Rows.Select(row => row.Item));
        StateHasChanged();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _watch?.Dispose();
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

    private static object DurationSortKey(LiveRow<TrainingRun> row) => row.Item.Duration(DateTime.UtcNow) ?? TimeSpan.MaxValue;

    /// <summary>Runs without a loss sort after every run with one.</summary>
    private static object BestLossSortKey(LiveRow<TrainingRun> row) => row.Item.BestLoss is { } loss && double.IsFinite(loss) ? loss : double.MaxValue;

    private string DatasetLabel(Guid versionId) => _datasetLabels.TryGetValue(versionId, out var label) ? label : "—";

    /// <summary>Asks before cancelling a train, saying what it loses and keeps; the list and the train's page share it.</summary>
    internal static Task<bool> ConfirmCancelAsync(IDialogService dialogs, TrainingRun run) => run.Status == WorkStatus.Queued
        ? dialogs.ConfirmAsync($"Cancel the train {run.Name}?", ["Its place in the queue (it has not started)"],
            ["Its configuration: Copy the Train starts it again"], confirmText: "Cancel the train", keepText: "Keep it queued")
        : dialogs.ConfirmAsync($"Cancel the train {run.Name}?",
            [$"The remaining training (it stops at the next step, now {run.Step} of {run.TotalSteps})", "No customized model is made"],
            ["A checkpoint of the progress so far: Resume continues from it", "Its log, metrics and charts"],
            confirmText: "Cancel the train", keepText: "Keep training");

    private async Task CancelAsync(TrainingRun run)
    {
        if (!await ConfirmCancelAsync(Dialogs, run)) return;
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

    private static string Duration(TrainingRun run) => DisplayFormat.Duration(run.Duration(DateTime.UtcNow));


}
