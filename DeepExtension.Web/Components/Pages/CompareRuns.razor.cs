using DeepExtension.Core.Common;
using DeepExtension.Core.Evaluations;
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

    [Inject]
    public required EvaluationService Evaluations { get; init; }

    /// <summary>The query the page was loaded for: another one (back/forward between comparisons) starts it over.</summary>
    private string? _loadedFor;
    private IReadOnlyList<Guid> _ids = [];
    private IReadOnlyList<string> _unreadable = [];
    private RunComparison? _comparison;
    /// <summary>Each compared run's evaluations, reloaded when evaluations change (also for finished runs).</summary>
    private IReadOnlyDictionary<Guid, RunEvaluations>? _evaluations;
    /// <summary>Per chart key: a line per run (source = the run id), fixed when the runs are first loaded.</summary>
    private readonly Dictionary<string, IReadOnlyList<ChartSeries>> _series = new(StringComparer.Ordinal);
    /// <summary>Per run (source key): its live history, which every chart reads.</summary>
    private readonly Dictionary<string, LiveRun> _sources = new(StringComparer.Ordinal);
    private IReadOnlySet<string> _metricKeys = new HashSet<string>(StringComparer.Ordinal);
    private readonly Dictionary<string, MetricChart> _charts = new(StringComparer.Ordinal);
    /// <summary>One subscription per compared run, with the run's source key.</summary>
    private readonly List<(string Source, LiveRunSubscription Subscription)> _subscriptions = [];
    private bool _differencesOnly;
    private double _smoothing;
    private string _xAxis = "step";

    internal static string SourceOf(TrainingRun run) => run.Id.ToString("N");

    /// <summary>The run's name; with the start of its id when another compared run has the same name (legends toggle by name).</summary>
    private string LabelOf(TrainingRun run) =>
        _comparison?.Runs.Count(r => string.Equals(r.Run.Name, run.Name, StringComparison.OrdinalIgnoreCase)) > 1
            ? $"{run.Name} ({run.Id.ToString("N")[..4]})"
            : run.Name;

    protected override ChangedWork WatchedWork => ChangedWork.Trains | ChangedWork.Models | ChangedWork.Evaluations;

    protected override async Task ReloadAsync()
    {
        // Finished runs do not change (their customized model is registered before they read Succeeded); their evaluations may.
        if (_comparison is null || !_comparison.Runs.All(r => r.Run.IsFinished)) await ReloadRunsAsync();
        if (_comparison is { Runs.Count: >= 2 } comparison)
            _evaluations = await Evaluations.ForRunsAsync(comparison.Runs.Select(r => r.Run.Id).ToList(), Stopping);
    }

    private async Task ReloadRunsAsync()
    {
        if (_comparison is null)
        {
            _loadedFor = RunIds;
            (_ids, _unreadable) = RunComparisonService.ParseIds(RunIds);
            // Reading the histories starts now, beside the database reads (and while prerendering too), so they are
            // parsed by the time the page needs them. Only folders that exist: an id in the address may match no run.
            foreach (var files in _ids.Select(Runs.FilesOf).Where(f => Directory.Exists(f.Directory))) Live.Preload(files);
        }
        var comparison = await Comparisons.CompareAsync(_ids, Stopping);
        var firstLoad = _comparison is null;
        _comparison = comparison;
        ApplySummaries();
        if (firstLoad)
        {
            foreach (var spec in Charts)
            {
                _series[spec.Key] = comparison.Runs
                    .Select((r, i) => new ChartSeries(SourceOf(r.Run), spec.Metrics[0].Key, LabelOf(r.Run), SourceOf(r.Run), RunColours.At(i)))
                    .ToList();
            }
            // Live data only once interactive (never while prerendering). Histories already loaded (the prerender's preload,
            // another page's) are drawn by this very render; the others join when their first update arrives.
            if (RendererInfo.IsInteractive && comparison.Runs.Count >= 2)
            {
                foreach (var compared in comparison.Runs)
                {
                    _subscriptions.Add((SourceOf(compared.Run), Live.Subscribe(Runs.FilesOf(compared.Run), () => InvokeAsync(ApplyAsync))));
                }
                TakeLoadedSources();
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
        _evaluations = null;
        _series.Clear();
        _sources.Clear();
        _metricKeys = new HashSet<string>(StringComparer.Ordinal);
        _charts.Clear();
        await ReloadAsync();
    }

    private async Task ApplyAsync()
    {
        TakeLoadedSources();
        // Charts that exist refresh; charts this render adds read the histories when they appear.
        var existing = _charts.Values.ToList();
        StateHasChanged();
        foreach (var chart in existing) await chart.RefreshAsync();
    }

    /// <summary>Sources join when their history is loaded, so a chart never draws a run's line before its points are there.</summary>
    private void TakeLoadedSources()
    {
        foreach (var (source, subscription) in _subscriptions.Where(s => s.Subscription.Run.Loaded)) _sources[source] = subscription.Run;
        _metricKeys = _sources.Values.SelectMany(s => s.MetricKeys).ToHashSet(StringComparer.Ordinal);
        ApplySummaries();
    }

    /// <summary>One column of the evaluation scores: a run's model in one evaluation, or the run without any (with why).</summary>
    private sealed record EvaluationColumn(TrainingRun Run, int Index, RunEvaluationScores? Scores, string? Note);

    /// <summary>Runs in their compared order (so in their colours), each with its evaluations newest first, or one empty column.</summary>
    private IEnumerable<EvaluationColumn> EvaluationColumns()
    {
        if (_comparison is null || _evaluations is null) yield break;
        foreach (var (compared, index) in _comparison.Runs.Select((r, i) => (r, i)))
        {
            var evaluations = _evaluations.GetValueOrDefault(compared.Run.Id);
            if (evaluations is { Scored.Count: > 0 })
            {
                foreach (var scores in evaluations.Scored) yield return new EvaluationColumn(compared.Run, index, scores, null);
                continue;
            }
            var note = evaluations is { Unfinished.Count: > 0 }
                ? $"{evaluations.Unfinished[0].Name} is {evaluations.Unfinished[0].Status.ToString().ToLowerInvariant()}; its scores appear here when it succeeds."
                : compared.CustomizedModelName is not null ? "Use Evaluate on the train's page."
                : compared.Run.IsFinished ? "The train produced no customized model to evaluate."
                : "It is still training; evaluate its model when it has finished.";
            yield return new EvaluationColumn(compared.Run, index, null, note);
        }
    }

    /// <summary>"2 running" when no run has scores yet but evaluations are on their way.</summary>
    private string UnfinishedEvaluations()
    {
        var count = _evaluations?.Values.SelectMany(e => e.Unfinished).Select(e => e.Id).Distinct().Count() ?? 0;
        return count == 0 ? "" : $"{DisplayFormat.Count(count)} on the way";
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
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Unsubscribe();
        base.Dispose(disposing);
    }
}
