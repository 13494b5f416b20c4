using System.Globalization;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
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

    /// <summary>A chart on the Evaluation Data tab; <see cref="OnlyWhenPresent"/> charts appear once a point carries one of their series.</summary>
    public sealed record ChartSpec(string Key, string Title, IReadOnlyList<string> Series, IReadOnlyDictionary<string, string> Labels, bool OnlyWhenPresent = false)
    {
        /// <summary>The chart's lines: one per metric of this run.</summary>
        public IReadOnlyList<ChartSeries> Lines { get; } = ChartSeries.ForMetrics(Series, Labels);
    }

    public static readonly IReadOnlyList<ChartSpec> Charts =
    [
        new("loss", "Loss", [MetricPoint.Keys.Loss, MetricPoint.Keys.EvalLoss],
            new Dictionary<string, string> { [MetricPoint.Keys.Loss] = "Training loss", [MetricPoint.Keys.EvalLoss] = "Evaluation loss" }),
        new("learning-rate", "Learning rate", [MetricPoint.Keys.LearningRate],
            new Dictionary<string, string> { [MetricPoint.Keys.LearningRate] = "Learning rate" }),
        new("grad-norm", "Gradient norm", [MetricPoint.Keys.GradNorm],
            new Dictionary<string, string> { [MetricPoint.Keys.GradNorm] = "Gradient norm" }),
        new("tokens-per-second", "Tokens per second", [MetricPoint.Keys.TokensPerSecond],
            new Dictionary<string, string> { [MetricPoint.Keys.TokensPerSecond] = "Tokens/s" }),
        new("dpo-rewards", "DPO rewards", ["rewards/chosen", "rewards/rejected", "rewards/margins"],
            new Dictionary<string, string> { ["rewards/chosen"] = "Chosen", ["rewards/rejected"] = "Rejected", ["rewards/margins"] = "Margin" }, OnlyWhenPresent: true),
        new("dpo-accuracy", "DPO reward accuracy", ["rewards/accuracies"],
            new Dictionary<string, string> { ["rewards/accuracies"] = "Accuracy" }, OnlyWhenPresent: true),
        new("grpo-reward", "GRPO reward", [MetricPoint.Keys.Reward, MetricPoint.Keys.RewardStd],
            new Dictionary<string, string> { [MetricPoint.Keys.Reward] = "Mean reward", [MetricPoint.Keys.RewardStd] = "Reward std within groups" }, OnlyWhenPresent: true),
        new("grpo-kl", "GRPO KL to the reference", [MetricPoint.Keys.Kl],
            new Dictionary<string, string> { [MetricPoint.Keys.Kl] = "KL" }, OnlyWhenPresent: true),
        new("grpo-completion-length", "GRPO completion length", [MetricPoint.Keys.CompletionLength],
            new Dictionary<string, string> { [MetricPoint.Keys.CompletionLength] = "Tokens" }, OnlyWhenPresent: true),
        new("gpu-memory", "GPU memory (GiB)", [MetricPoint.Keys.GpuMemoryGib],
            new Dictionary<string, string> { [MetricPoint.Keys.GpuMemoryGib] = "GPU memory in use" }, OnlyWhenPresent: true),
    ];

    [Parameter]
    public Guid RunId { get; set; }

    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required CustomizedModelService CustomizedModels { get; init; }

    [Inject]
    public required RunUpdatesStore Updates { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required IJSRuntime JS { get; init; }

    private TrainingRun? _run;
    private bool _missing;
    private string _datasetLabel = "—";
    private CustomizedModel? _customizedModel;
    private MetricPoint? _latest;
    private readonly List<LogLine> _log = [];
    private string? _search;
    private RunLogLevel _minimumLevel = RunLogLevel.Info;
    private bool _follow = true;
    private int _tab;
    private readonly List<MetricPoint> _metrics = [];
    private readonly HashSet<string> _metricKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MetricChart> _charts = new(StringComparer.Ordinal);
    private double _smoothing;
    private string _xAxis = "step";
    private IDisposable? _subscription;
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
        if (await Datasets.GetVersionAsync(_run.DatasetVersionId) is { } version && await Datasets.GetAsync(version.DatasetId) is { } dataset)
        {
            _datasetLabel = $"{dataset.Name} v{version.VersionNumber} (sha256 {version.ShortHash}…, {version.RowCount:N0} rows)";
        }
        _customizedModel = await CustomizedModels.FindByRunAsync(RunId);
    }

    protected override void OnAfterRender(bool firstRender)
    {
        // Live data only once interactive: the first update carries the history, later ones what is new.
        if (firstRender && _run is not null)
        {
            _subscription = Updates.Subscribe(Runs.FilesOf(_run), update => InvokeAsync(() => ApplyAsync(update)));
            _ = RefreshRunLoopAsync();
        }
    }

    private async Task ApplyAsync(RunUpdate update)
    {
        if (update.Metrics.LastOrDefault(p => p[MetricPoint.Keys.Loss] is not null) is { } point) _latest = point;
        _log.AddRange(update.Logs);
        if (_log.Count > MaxLogLines) _log.RemoveRange(0, _log.Count - MaxLogLines);
        // Charts that exist get the new points through JS interop; charts rendered by this StateHasChanged (a new
        // DPO chart, the tab just opened) read _metrics, which already holds them, as their history.
        var existing = _charts.Values.ToList();
        _metrics.AddRange(update.Metrics);
        foreach (var metric in update.Metrics) _metricKeys.UnionWith(metric.Values.Keys);
        StateHasChanged();
        foreach (var chart in existing) await chart.AppendAsync(update.Metrics);
        if (_follow && update.Logs.Count > 0 && _tab == LogTab)
        {
            _module ??= await JS.InvokeAsync<IJSObjectReference>("import", "./js/deepx.js");
            await _module.InvokeVoidAsync("scrollToEnd", "run-log");
        }
    }

    /// <summary>Status, progress and outcome come from the database, which the job updates every second.</summary>
    private async Task RefreshRunLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var run = await Runs.GetAsync(RunId, _stop.Token);
                if (run is null) continue;
                var customized = run.Status == RunStatus.Succeeded && _customizedModel is null ? await CustomizedModels.FindByRunAsync(RunId, _stop.Token) : _customizedModel;
                await InvokeAsync(() =>
                {
                    _run = run;
                    _customizedModel = customized;
                    StateHasChanged();
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private IEnumerable<ChartSpec> VisibleCharts() => Charts.Where(c => !c.OnlyWhenPresent || c.Series.Any(_metricKeys.Contains));

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
        var result = await Runs.CancelAsync(RunId);
        Snackbar.Add(result.Succeeded ? "Cancelling: the worker stops at its next step and keeps a checkpoint." : result.AllErrors,
            result.Succeeded ? Severity.Info : Severity.Error);
    }

    private async Task ResumeAsync()
    {
        var result = await Runs.ResumeAsync(RunId);
        Snackbar.Add(result.Succeeded ? "Queued to resume from the last checkpoint." : result.AllErrors, result.Succeeded ? Severity.Info : Severity.Error);
    }

    private static string When(DateTime? utc) => utc is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "—";

    private static string Show(double? value) => value is { } v && double.IsFinite(v)
        ? (Math.Abs(v) is > 0 and < 1e-3 ? v.ToString("0.###e+0", CultureInfo.InvariantCulture) : v.ToString("0.#####", CultureInfo.InvariantCulture))
        : "—";

    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
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
