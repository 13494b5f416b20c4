using DeepExtension.Web.Components.Dialogs;
using System.Globalization;
using DeepExtension.Core.Common;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class TrainDetails : IAsyncDisposable
{
    /// <summary>Lines kept in the page; the full log stays on disk and downloads whole.</summary>
    public const int MaxLogLines = 5000;

    /// <summary>Index of the "Train Log" tab (Train Overview, Evaluation Data, Train Log).</summary>
    private const int LogTab = 2;

    /// <summary>The Evaluation Data charts: the metric catalogue's, grouped as it groups them.</summary>
    public static IReadOnlyList<MetricChartDefinition> Charts => MetricCatalogue.EvaluationCharts;

    /// <summary>How often the run's state is read again without an event (a worker on another scheduler node).</summary>
    private static readonly TimeSpan FallbackInterval = LiveListPage.FallbackInterval;

    [Parameter]
    public Guid RunId { get; set; }

    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required CustomizedModelService CustomizedModels { get; init; }

    [Inject]
    public required LiveRunStore Live { get; init; }

    [Inject]
    public required WorkChanges WorkChanges { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Inject]
    public required IJSRuntime JS { get; init; }

    private TrainingRun? _run;
    private bool _missing;
    private string _datasetLabel = "—";
    private CustomizedModel? _customizedModel;
    private IReadOnlyList<DeepExtension.Core.Evaluations.Evaluation> _evaluations = [];

    [Inject]
    public required DeepExtension.Core.Evaluations.EvaluationService Evaluations { get; init; }

    [Inject]
    public required DeepExtension.Jobs.Nodes.NodeService Nodes { get; init; }

    // Why a queued run has not started yet, where nodes route runs by device.
    private string? _waiting;
    private MetricPoint? _latest;
    private TrainingDataReport? _dataReport;
    private readonly List<LogLine> _log = [];
    private int _logNext;
    private string? _search;
    private RunLogLevel _minimumLevel = RunLogLevel.Info;
    private bool _follow = true;
    private int _tab;
    private int _pointCount;
    private IReadOnlySet<string> _metricKeys = new HashSet<string>(StringComparer.Ordinal);
    /// <summary>The one source of the charts: this run's live history.</summary>
    private IReadOnlyDictionary<string, LiveRun> _sources = new Dictionary<string, LiveRun>();
    private readonly Dictionary<string, MetricChart> _charts = new(StringComparer.Ordinal);
    private double _smoothing;
    private string _xAxis = "step";
    private LiveRunSubscription? _subscription;
    private IDisposable? _changes;
    private readonly SemaphoreSlim _runChanged = new(0, 1);
    private IJSObjectReference? _module;
    private readonly CancellationTokenSource _stop = new();

    protected override async Task OnInitializedAsync()
    {
        _run = await Runs.GetAsync(RunId);
        if (_run is null)
        {
            _missing = true;
            return;
        }
        // Reading the history starts now (while prerendering too), so it is parsed by the time the browser connects.
        Live.Preload(Runs.FilesOf(_run));
        if (await Datasets.GetVersionAsync(_run.DatasetVersionId) is { } version && await Datasets.GetAsync(version.DatasetId) is { } dataset)
        {
            _datasetLabel = $"{dataset.Name} v{version.VersionNumber} (sha256 {version.ShortHash}…, {version.RowCount:N0} rows)";
        }
        _customizedModel = await CustomizedModels.FindByRunAsync(RunId);
        _evaluations = await Evaluations.ForAsync(RunId, _customizedModel?.Id);
        _waiting = await Nodes.WhyWaitingAsync(_run);
    }

    protected override void OnAfterRender(bool firstRender)
    {
        // Live data only once interactive: the store calls back once the history is loaded, then when more arrives.
        if (firstRender && _run is not null)
        {
            _subscription = Live.Subscribe(Runs.FilesOf(_run), () => InvokeAsync(ApplyAsync));
            _changes = WorkChanges.Subscribe(kinds =>
            {
                if ((kinds & (ChangedWork.Trains | ChangedWork.Models)) == 0) return;
                try
                {
                    if (_runChanged.CurrentCount == 0) _runChanged.Release();
                }
                catch (Exception ex) when (ex is SemaphoreFullException or ObjectDisposedException)
                {
                }
            });
            _ = RefreshRunLoopAsync();
        }
    }

    /// <summary>Takes what the live history holds now: summary, latest metrics, new log lines; charts read it themselves.</summary>
    private async Task ApplyAsync()
    {
        if (_subscription is not { } subscription || _run is null) return;
        var live = subscription.Run;
        _latest = live.LatestTrainingPoint;
        _dataReport = live.DataReport;
        _pointCount = live.PointCount;
        TrainingRunService.Apply(_run, live.Summary);
        var (lines, next) = live.LogsFrom(_logNext, MaxLogLines);
        _logNext = next;
        _log.AddRange(lines);
        if (_log.Count > MaxLogLines) _log.RemoveRange(0, _log.Count - MaxLogLines);
        if (_sources.Count == 0) _sources = new Dictionary<string, LiveRun> { [""] = live };
        _metricKeys = live.MetricKeys;
        // Charts that exist are told to refresh; charts this render adds (a DPO chart, the tab just opened) read the history when they appear.
        var existing = _charts.Values.ToList();
        StateHasChanged();
        foreach (var chart in existing) await chart.RefreshAsync();
        if (_follow && lines.Count > 0 && _tab == LogTab)
        {
            _module ??= await JS.InvokeAsync<IJSObjectReference>("import", "./js/deepx.js");
            await _module.InvokeVoidAsync("scrollToEnd", "run-log");
        }
    }

    /// <summary>Status, timings and the customized model come from the database: read again when this process reports a change, or after a while.</summary>
    private async Task RefreshRunLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await _runChanged.WaitAsync(FallbackInterval, _stop.Token);
                var run = await Runs.GetAsync(RunId, _stop.Token);
                if (run is null) continue;
                var customized = run.Status == WorkStatus.Succeeded && _customizedModel is null ? await CustomizedModels.FindByRunAsync(RunId, _stop.Token) : _customizedModel;
                var waiting = await Nodes.WhyWaitingAsync(run, _stop.Token);
                await InvokeAsync(() =>
                {
                    // The numbers are the points': a row read between two ticks of the job may lag them.
                    if (_subscription is { Run.Loaded: true } live) TrainingRunService.Apply(run, live.Run.Summary);
                    _run = run;
                    _customizedModel = customized;
                    _waiting = waiting;
                    StateHasChanged();
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private IEnumerable<MetricChartDefinition> VisibleCharts() => _sources.Count == 0 ? [] : Charts.Where(c => c.AppliesTo(_metricKeys));

    private async Task SetSmoothingAsync(double alpha)
    {
        _smoothing = alpha;
        foreach (var chart in _charts.Values.ToList()) await chart.SetSmoothingAsync(alpha);
    }

    private async Task SetXAxisAsync(string axis)
    {
        _xAxis = axis;
        foreach (var chart in _charts.Values.ToList()) await chart.SetXAxisAsync(axis);
    }

    private IEnumerable<LogLine> VisibleLog() => _log.Where(l => l.Level >= _minimumLevel
        && (string.IsNullOrWhiteSpace(_search) || l.Message.Contains(_search, StringComparison.OrdinalIgnoreCase)));

    private async Task CancelAsync()
    {
        if (_run is null || !await ModelTraining.ConfirmCancelAsync(Dialogs, _run)) return;
        var result = await Runs.CancelAsync(RunId);
        Snackbar.Add(result.Succeeded ? "Cancelling: the worker stops at its next step and keeps a checkpoint." : result.AllErrors,
            result.Succeeded ? Severity.Info : Severity.Error);
    }

    private async Task DeleteAsync()
    {
        if (_run is null || !await Dialogs.ConfirmAsync($"Delete the train {_run.Name}?", TrainingRunService.DeletionGoes, TrainingRunService.DeletionStays)) return;
        var result = await Runs.DeleteAsync(RunId);
        if (!result.Succeeded)
        {
            Snackbar.Add(result.AllErrors, Severity.Error);
            return;
        }
        Snackbar.Add($"Train {_run.Name} deleted; the models made from it stay.", Severity.Success);
        Navigation.NavigateTo("/model-training");
    }

    private async Task ResumeAsync()
    {
        var result = await Runs.ResumeAsync(RunId);
        Snackbar.Add(result.Succeeded ? "Queued to resume from the last checkpoint." : result.AllErrors, result.Succeeded ? Severity.Info : Severity.Error);
    }

    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
        _changes?.Dispose();
        _stop.Cancel();
        _stop.Dispose();
        if (_module is not null)
        {
            try
            {
                await _module.DisposeAsync();
            }
            catch (JSDisconnectedException)
            {
                // The circuit is gone with the browser tab; nothing left to release there.
            }
        }
    }
}
