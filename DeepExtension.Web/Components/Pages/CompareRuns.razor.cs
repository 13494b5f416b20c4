using DeepExtension.Core.Runs;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Pages;

/// <summary>
/// Two or more runs side by side: one overlay chart per metric (a line per run, in the run's colour), the outcome and
/// the configuration. Metrics come live from <see cref="RunUpdatesStore"/> (one subscription per run); status and
/// outcome are reloaded every second while any run is unfinished.
/// </summary>
public partial class CompareRuns
{
    /// <summary>An overlay chart of one metric; <see cref="OnlyWhenPresent"/> charts appear once a run logs the metric.</summary>
    public sealed record CompareChartSpec(string Key, string Title, string Metric, bool OnlyWhenPresent = false);

    public static readonly IReadOnlyList<CompareChartSpec> Charts =
    [
        new("loss", "Training loss", MetricPoint.Keys.Loss),
        new("eval-loss", "Evaluation loss", MetricPoint.Keys.EvalLoss, OnlyWhenPresent: true),
        new("learning-rate", "Learning rate", MetricPoint.Keys.LearningRate),
        new("grad-norm", "Gradient norm", MetricPoint.Keys.GradNorm),
        new("tokens-per-second", "Tokens per second", MetricPoint.Keys.TokensPerSecond),
        new("dpo-chosen", "DPO reward (chosen)", "rewards/chosen", OnlyWhenPresent: true),
        new("dpo-rejected", "DPO reward (rejected)", "rewards/rejected", OnlyWhenPresent: true),
        new("dpo-margins", "DPO reward margin", "rewards/margins", OnlyWhenPresent: true),
        new("dpo-accuracy", "DPO reward accuracy", "rewards/accuracies", OnlyWhenPresent: true),
        new("grpo-reward", "GRPO reward", MetricPoint.Keys.Reward, OnlyWhenPresent: true),
        new("grpo-reward-std", "GRPO reward std", MetricPoint.Keys.RewardStd, OnlyWhenPresent: true),
        new("grpo-kl", "GRPO KL", MetricPoint.Keys.Kl, OnlyWhenPresent: true),
        new("grpo-completion-length", "GRPO completion length", MetricPoint.Keys.CompletionLength, OnlyWhenPresent: true),
        new("gpu-memory", "GPU memory (GiB)", MetricPoint.Keys.GpuMemoryGib, OnlyWhenPresent: true),
    ];

    /// <summary>Comma-separated run ids, in the order their colours are given.</summary>
    [SupplyParameterFromQuery(Name = "runs")]
    public string? RunIds { get; set; }

    [Inject]
    public required RunComparisonService Comparisons { get; init; }

    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required RunUpdatesStore Updates { get; init; }

    /// <summary>The query the page was loaded for: another one (back/forward between comparisons) starts it over.</summary>
    private string? _loadedFor;
    private IReadOnlyList<Guid> _ids = [];
    private IReadOnlyList<string> _unreadable = [];
    private RunComparison? _comparison;
    /// <summary>Per chart key: a line per run (source = the run id), fixed when the runs are first loaded.</summary>
    private readonly Dictionary<string, IReadOnlyList<ChartSeries>> _series = new(StringComparer.Ordinal);
    /// <summary>Per run (source key): every point received so far, the history of charts rendered later.</summary>
    private readonly Dictionary<string, IReadOnlyList<MetricPoint>> _metrics = new(StringComparer.Ordinal);
    private readonly HashSet<string> _metricKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MetricChart> _charts = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _subscriptions = [];
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
        if (firstLoad)
        {
            foreach (var spec in Charts)
            {
                _series[spec.Key] = comparison.Runs
                    .Select((r, i) => new ChartSeries(SourceOf(r.Run), spec.Metric, LabelOf(r.Run), SourceOf(r.Run), RunColours.At(i)))
                    .ToList();
            }
            foreach (var compared in comparison.Runs) _metrics[SourceOf(compared.Run)] = new List<MetricPoint>();
        }
    }

    protected override async Task OnParametersSetAsync()
    {
        if (_comparison is null || RunIds == _loadedFor) return;
        Unsubscribe();
        _comparison = null;
        _series.Clear();
        _metrics.Clear();
        _metricKeys.Clear();
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
            var source = SourceOf(compared.Run);
            _subscriptions.Add(Updates.Subscribe(Runs.FilesOf(compared.Run), update => InvokeAsync(() => ApplyAsync(source, update))));
        }
    }

    private async Task ApplyAsync(string source, RunUpdate update)
    {
        if (update.Metrics.Count == 0) return;
        // Charts that exist get the points through JS interop; charts this render adds read _metrics as their history.
        var existing = _charts.Values.ToList();
        ((List<MetricPoint>)_metrics[source]).AddRange(update.Metrics);
        foreach (var point in update.Metrics) _metricKeys.UnionWith(point.Values.Keys);
        StateHasChanged();
        foreach (var chart in existing) await chart.AppendAsync(update.Metrics, source);
    }

    /// <summary>The run's throughput over all its logged steps (the row keeps only the last step's), once its points arrived.</summary>
    private double? MeanTokensPerSecond(TrainingRun run)
    {
        var values = _metrics.TryGetValue(SourceOf(run), out var points)
            ? points.Select(p => p[MetricPoint.Keys.TokensPerSecond]).OfType<double>().ToList()
            : [];
        return values.Count > 0 ? values.Average() : run.TokensPerSecond;
    }

    private IEnumerable<CompareChartSpec> VisibleCharts() => Charts.Where(c => !c.OnlyWhenPresent || _metricKeys.Contains(c.Metric));

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
        foreach (var subscription in _subscriptions) subscription.Dispose();
        _subscriptions.Clear();
        _subscribed = false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Unsubscribe();
        base.Dispose(disposing);
    }
}
