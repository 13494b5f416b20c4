using DeepExtension.Core.Common;
using DeepExtension.Core.Runs;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Pages;

/// <summary>
/// Two or more runs side by side: one overlay chart per metric of the catalogue (a line per run, in the run's colour),
/// the outcome and the configuration. Metrics and every outcome number come from the runs' histories in the
/// <see cref="LiveRunStore"/> (one shared subscription per run); status reloads when the run changes state.
/// </summary>
public partial class CompareRuns
{
    /// <summary>The overlay charts: one per charted metric of the catalogue.</summary>
    public static IReadOnlyList<MetricChartDefinition> Charts => MetricCatalogue.CompareCharts;

    /// <summary>Comma-separated run ids, in the order their colours are given.</summary>
    [SupplyParameterFromQuery(Name = "runs")]
    public string? RunIds { get; set; }

    [Inject]
    public required RunComparisonService Comparisons { get; init; }

    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required LiveRunStore Live { get; init; }

    /// <summary>The query the page was loaded for: another one (back/forward between comparisons) starts it over.</summary>
    private string? _loadedFor;
    private IReadOnlyList<Guid> _ids = [];
    private IReadOnlyList<string> _unreadable = [];
    private RunComparison? _comparison;
    /// <summary>Per chart key: a line per run (source = the run id), fixed when the runs are first loaded.</summary>
    private readonly Dictionary<string, IReadOnlyList<ChartSeries>> _series = new(StringComparer.Ordinal);
    /// <summary>Per run (source key): its live history, which every chart reads.</summary>
    private readonly Dictionary<string, LiveRun> _sources = new(StringComparer.Ordinal);
    private IReadOnlySet<string> _metricKeys = new HashSet<string>(StringComparer.Ordinal);
    private readonly Dictionary<string, MetricChart> _charts = new(StringComparer.Ordinal);
    /// <summary>One subscription per compared run, with the run's source key.</summary>
    private readonly List<(string Source, LiveRunSubscription Subscription)> _subscriptions = [];
    private bool _subscribed;
    private bool _differencesOnly;
    private double _smoothing;
    private string _xAxis = "step";

    internal static string SourceOf(TrainingRun run) => run.Id.ToString("N");

    /// <summary>The run's name; with the start of its id when another compared run has the same name (legends toggle by name).</summary>
    private string LabelOf(TrainingRun run) =>
        _comparison?.Runs.Count(r => string.Equals(r.Run.Name, run.Name, StringComparison.OrdinalIgnoreCase)) > 1
            ? $"{run.Name} ({run.Id.ToString("N")[..4]})"
            : run.Name;

    protected override ChangedWork WatchedWork => ChangedWork.Trains | ChangedWork.Models;

    protected override async Task ReloadAsync()
    {
        // Finished runs do not change (their customized model is registered before they read Succeeded).
        if (_comparison is not null && _comparison.Runs.All(r => r.Run.IsFinished)) return;
        if (_comparison is null)
        {
            _loadedFor = RunIds;
            (_ids, _unreadable) = RunComparisonService.ParseIds(RunIds);
        }
        var comparison = await Comparisons.CompareAsync(_ids, Stopping);
        var firstLoad = _comparison is null;
        _comparison = comparison;
        ApplySummaries();
        if (firstLoad)
        {
            // Reading the histories starts now (while prerendering too), so they are parsed by the time the browser connects.
            foreach (var compared in comparison.Runs) Live.Preload(Runs.FilesOf(compared.Run));
            foreach (var spec in Charts)
            {
                _series[spec.Key] = comparison.Runs
                    .Select((r, i) => new ChartSeries(SourceOf(r.Run), spec.Metrics[0].Key, LabelOf(r.Run), SourceOf(r.Run), RunColours.At(i)))
                    .ToList();
            }
        }
    }

    /// <summary>The outcome rows show what the runs' points say (a running run's row in the database lags them by a tick).</summary>
    private void ApplySummaries()
    {
        foreach (var compared in _comparison?.Runs ?? [])
        {
            if (_sources.TryGetValue(SourceOf(compared.Run), out var live) && live.Loaded) TrainingRunService.Apply(compared.Run, live.Summary);
        }
    }

    protected override async Task OnParametersSetAsync()
    {
        if (_comparison is null || RunIds == _loadedFor) return;
        Unsubscribe();
        _comparison = null;
        _series.Clear();
        _sources.Clear();
        _metricKeys = new HashSet<string>(StringComparer.Ordinal);
        _charts.Clear();
        await ReloadAsync();
    }

    protected override void OnAfterRender(bool firstRender)
    {
        // Live data only once interactive (never while prerendering): the first update of each run carries its history.
        if (_subscribed || _comparison is not { Runs.Count: >= 2 }) return;
        _subscribed = true;
        foreach (var compared in _comparison.Runs)
        {
            _subscriptions.Add((SourceOf(compared.Run), Live.Subscribe(Runs.FilesOf(compared.Run), () => InvokeAsync(ApplyAsync))));
        }
    }

    private async Task ApplyAsync()
    {
        // Sources join when their history is loaded, so a chart never draws a run's line before its points are there.
        foreach (var (source, subscription) in _subscriptions.Where(s => s.Subscription.Run.Loaded)) _sources[source] = subscription.Run;
        _metricKeys = _sources.Values.SelectMany(s => s.MetricKeys).ToHashSet(StringComparer.Ordinal);
        ApplySummaries();
        // Charts that exist refresh; charts this render adds read the histories when they appear.
        var existing = _charts.Values.ToList();
        StateHasChanged();
        foreach (var chart in existing) await chart.RefreshAsync();
    }

    /// <summary>The run's mean throughput over every logged step, from its points.</summary>
    private double? MeanTokensPerSecond(TrainingRun run) =>
        _sources.TryGetValue(SourceOf(run), out var live) ? live.Summary.MeanTokensPerSecond ?? run.TokensPerSecond : run.TokensPerSecond;

    /// <summary>Charts appear once every run's history is loaded (so none is drawn without a run's line).</summary>
    private IEnumerable<MetricChartDefinition> VisibleCharts() =>
        _comparison is null || _sources.Count < _comparison.Runs.Count ? [] : Charts.Where(c => c.AppliesTo(_metricKeys));

    private IReadOnlyList<ConfigurationRow> VisibleConfiguration() =>
        _comparison is null ? [] : _comparison.Configuration.Where(r => !_differencesOnly || !r.AllEqual).ToList();

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

    private void Unsubscribe()
    {
        foreach (var (_, subscription) in _subscriptions) subscription.Dispose();
        _subscriptions.Clear();
        _subscribed = false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Unsubscribe();
        base.Dispose(disposing);
    }
}
