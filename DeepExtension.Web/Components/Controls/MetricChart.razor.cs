using DeepExtension.Core.Runs;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// One line of a <see cref="MetricChart"/>: the values of <paramref name="Metric"/> from the points of
/// <paramref name="Source"/> ("" on a one-run page; a run on the Compare page), drawn as <paramref name="Name"/>.
/// </summary>
/// <param name="Key">Unique within the chart.</param>
/// <param name="Colour">A CSS colour; null lets the chart theme's palette choose.</param>
public sealed record ChartSeries(string Key, string Metric, string Name, string Source = "", string? Colour = null)
{
    /// <summary>Series of one source, one per metric key, named by <paramref name="names"/> where given.</summary>
    public static IReadOnlyList<ChartSeries> ForMetrics(IEnumerable<string> metrics, IReadOnlyDictionary<string, string>? names = null) =>
        metrics.Select(m => new ChartSeries(m, m, names is not null && names.TryGetValue(m, out var name) ? name : m)).ToList();
}

/// <summary>
/// One ApexCharts line chart of run metrics (wwwroot/js/charts.js). The history is read from <see cref="History"/>
/// and <see cref="SourceHistories"/> when the chart is first rendered; later points arrive through
/// <see cref="AppendAsync"/> as JS interop calls, so the component itself never re-renders for new points.
/// </summary>
public partial class MetricChart : IAsyncDisposable
{
    [Inject]
    public required IJSRuntime JS { get; init; }

    /// <summary>Stable key of the chart on its page (used in data-testid="chart-{Key}").</summary>
    [Parameter, EditorRequired]
    public required string Key { get; set; }

    [Parameter]
    public string Title { get; set; } = "";

    /// <summary>The lines drawn (for example "loss" and "eval_loss" of one run, or "loss" of each compared run).</summary>
    [Parameter, EditorRequired]
    public required IReadOnlyList<ChartSeries> Series { get; set; }

    /// <summary>Points of the unnamed source ("") already known when the chart appears (the page's history).</summary>
    [Parameter]
    public IReadOnlyList<MetricPoint>? History { get; set; }

    /// <summary>Points per named source already known when the chart appears.</summary>
    [Parameter]
    public IReadOnlyDictionary<string, IReadOnlyList<MetricPoint>>? SourceHistories { get; set; }

    /// <summary>The console's dark theme (cascaded by the layout): the chart follows it.</summary>
    [CascadingParameter(Name = DarkModeCascade)]
    public bool DarkMode { get; set; }

    public const string DarkModeCascade = "DarkMode";

    /// <summary>Initial x axis: "step", "epoch" or "elapsed".</summary>
    [Parameter]
    public string Axis { get; set; } = "step";

    /// <summary>Initial EMA smoothing (0 = raw … 0.99).</summary>
    [Parameter]
    public double Smoothing { get; set; }

    /// <summary>The id of the chart in charts.js (unique per component instance).</summary>
    public string ChartId { get; } = "chart-" + Guid.NewGuid().ToString("N")[..12];

    private ElementReference _element;
    private IJSObjectReference? _module;
    private bool _historyTaken;
    private bool _disposed;
    private bool _appliedDarkMode;
    private readonly List<(string Source, IReadOnlyList<MetricPoint> Points)> _pending = [];

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            // The theme toggle re-renders this component through the cascade; the chart itself is recoloured in JS.
            if (_module is not null && _appliedDarkMode != DarkMode)
            {
                _appliedDarkMode = DarkMode;
                await CallAsync("setTheme", ChartId, DarkMode);
            }
            return;
        }
        // Taken synchronously before the first await: points appended from now on are queued, not lost or doubled.
        _historyTaken = true;
        var history = new List<(string Source, IReadOnlyList<MetricPoint> Points)>();
        if (History is { Count: > 0 }) history.Add(("", History.ToList()));
        foreach (var (source, points) in SourceHistories ?? new Dictionary<string, IReadOnlyList<MetricPoint>>())
        {
            if (points.Count > 0) history.Add((source, points.ToList()));
        }
        _appliedDarkMode = DarkMode;
        try
        {
            var module = await JS.InvokeAsync<IJSObjectReference>("import", "./js/charts.js");
            if (_disposed)
            {
                await module.DisposeAsync();
                return;
            }
            await module.InvokeAsync<string>("create", _element, new
            {
                id = ChartId,
                title = Title,
                series = Series.Select(s => new { key = s.Key, name = s.Name, color = s.Colour }),
                axis = Axis,
                alpha = Smoothing,
                dark = _appliedDarkMode,
            });
            _module = module;
            if (_disposed)
            {
                // Disposed while the chart was being created: DisposeAsync found no module to clean up with.
                _disposed = false;
                await DisposeAsync();
                return;
            }
            history.AddRange(_pending);
            _pending.Clear();
            foreach (var (source, points) in history) await SendAsync(points, source);
            if (_appliedDarkMode != DarkMode)
            {
                // The theme changed while the chart was being created.
                _appliedDarkMode = DarkMode;
                await CallAsync("setTheme", ChartId, DarkMode);
            }
        }
        catch (JSDisconnectedException)
        {
        }
        catch (TaskCanceledException)
        {
        }
    }

    /// <summary>Appends new points of <paramref name="source"/> (those carrying none of this chart's series are skipped).</summary>
    public async Task AppendAsync(IReadOnlyList<MetricPoint> points, string source = "")
    {
        if (_disposed || !_historyTaken || points.Count == 0) return;
        if (_module is null)
        {
            _pending.Add((source, points.ToList()));
            return;
        }
        await SendAsync(points, source);
    }

    public Task SetSmoothingAsync(double alpha) => CallAsync("setSmoothing", ChartId, alpha);

    public Task SetXAxisAsync(string axis) => CallAsync("setXAxis", ChartId, axis);

    /// <summary>
    /// Per series key of <paramref name="source"/>: [step, epoch, elapsed, value] rows; NaN/∞ (a diverged loss) become
    /// gaps (null). Series of other sources get nothing.
    /// </summary>
    internal static Dictionary<string, List<double?[]>> ToSeriesRows(IReadOnlyList<ChartSeries> series, IEnumerable<MetricPoint> points, string source = "")
    {
        var mine = series.Where(s => s.Source == source).ToList();
        var rows = mine.ToDictionary(s => s.Key, _ => new List<double?[]>(), StringComparer.Ordinal);
        foreach (var point in points)
        {
            foreach (var line in mine)
            {
                if (!point.Values.TryGetValue(line.Metric, out var value)) continue;
                rows[line.Key].Add([point.Step, point.Epoch, point.ElapsedSeconds, double.IsFinite(value) ? value : null]);
            }
        }
        return rows;
    }

    private async Task SendAsync(IEnumerable<MetricPoint> points, string source)
    {
        var rows = ToSeriesRows(Series, points, source);
        if (rows.Values.All(r => r.Count == 0)) return;
        await CallAsync("appendPoints", ChartId, rows);
    }

    private async Task CallAsync(string identifier, params object?[] args)
    {
        if (_module is null || _disposed) return;
        try
        {
            await _module.InvokeVoidAsync(identifier, args);
        }
        catch (JSDisconnectedException)
        {
        }
        catch (TaskCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_module is null) return;
        try
        {
            await _module.InvokeVoidAsync("destroy", ChartId);
            await _module.DisposeAsync();
        }
        catch (JSDisconnectedException)
        {
            // The circuit is gone with the browser tab; the chart went with it.
        }
        catch (TaskCanceledException)
        {
        }
    }
}
