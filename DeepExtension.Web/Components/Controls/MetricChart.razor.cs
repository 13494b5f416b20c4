using DeepExtension.Core.Runs;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// One line of a <see cref="MetricChart"/>: the values of <paramref name="Metric"/> from the run of
/// <paramref name="Source"/> ("" on a one-run page; a run on the Compare page), drawn as <paramref name="Name"/>.
/// </summary>
/// <param name="Key">Unique within the chart.</param>
/// <param name="Colour">A CSS colour; null gives the colour of the series' position in the chart.</param>
public sealed record ChartSeries(string Key, string Metric, string Name, string Source = "", string? Colour = null)
{
    /// <summary>The lines of one catalogue chart for a one-run page: one per metric, labelled by the catalogue.</summary>
    public static IReadOnlyList<ChartSeries> ForChart(MetricChartDefinition chart) =>
        chart.Metrics.Select(m => new ChartSeries(m.Key, m.Key, m.Label)).ToList();
}

/// <summary>
/// One ApexCharts line chart of run metrics (wwwroot/js/charts.js). The data lives on the server, in the
/// <see cref="LiveRun"/> of each source: the chart sends the browser each series mapped to the x axis, smoothed and
/// reduced (<see cref="MetricSeries"/>), again when the page calls <see cref="RefreshAsync"/> (new points), when the
/// smoothing or axis changes, and when the user zooms (<see cref="ZoomAsync"/>: the window at full resolution).
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

    /// <summary>The live history of each source named by <see cref="Series"/> ("" on a one-run page).</summary>
    [Parameter, EditorRequired]
    public required IReadOnlyDictionary<string, LiveRun> Sources { get; set; }

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
    private DotNetObjectReference<MetricChart>? _self;
    private bool _disposed;
    private bool _appliedDarkMode;
    private string _axis = "step";
    private double _alpha;
    private (double Min, double Max)? _window;
    private int _maxPoints = MetricSeries.MaxPoints;
    private readonly SemaphoreSlim _sending = new(1, 1);
    /// <summary>The sources' versions last sent: a refresh with nothing new sends nothing.</summary>
    private string _sentVersions = "";

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
        _axis = Axis;
        _alpha = Smoothing;
        _appliedDarkMode = DarkMode;
        try
        {
            var module = await JS.InvokeAsync<IJSObjectReference>("import", "./js/charts.js");
            if (_disposed)
            {
                await module.DisposeAsync();
                return;
            }
            _self = DotNetObjectReference.Create(this);
            var width = await module.InvokeAsync<int>("create", _element, new
            {
                id = ChartId,
                title = Title,
                series = Series.Select(s => new { key = s.Key, name = s.Name, color = s.Colour }),
                axis = _axis,
                dark = _appliedDarkMode,
            }, _self);
            _module = module;
            _maxPoints = PointsFor(width);
            if (_disposed)
            {
                // Disposed while the chart was being created: DisposeAsync found no module to clean up with.
                _disposed = false;
                await DisposeAsync();
                return;
            }
            await RefreshAsync(force: true);
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

    /// <summary>Sends the series again when a source has new points (or always, with <paramref name="force"/>).</summary>
    public async Task RefreshAsync(bool force = false)
    {
        if (_module is null || _disposed) return;
        await _sending.WaitAsync();
        try
        {
            var versions = string.Join(",", Sources.Select(s => $"{s.Key}:{s.Value.Version}"));
            if (!force && versions == _sentVersions) return;
            _sentVersions = versions;
            await CallAsync("setData", ChartId, DataOf(Series, Sources, _axis, _alpha, _window, _maxPoints));
        }
        finally
        {
            _sending.Release();
        }
    }

    public Task SetSmoothingAsync(double alpha)
    {
        _alpha = alpha;
        return RefreshAsync(force: true);
    }

    public Task SetXAxisAsync(string axis)
    {
        // A window in other units means nothing on the new axis.
        _axis = axis;
        _window = null;
        return RefreshAsync(force: true);
    }

    /// <summary>Called by charts.js when the user zooms or pans (a window) or resets (no window).</summary>
    [JSInvokable]
    public Task ZoomAsync(double? min, double? max)
    {
        _window = min is { } a && max is { } b && a < b ? (a, b) : null;
        return RefreshAsync(force: true);
    }

    /// <summary>
    /// What charts.js draws: per series key, [x, y] pairs reduced by <see cref="MetricSeries"/> and the number of points
    /// the run logged for it. A series whose source is not (yet) known gets no points.
    /// </summary>
    internal static object DataOf(IReadOnlyList<ChartSeries> series, IReadOnlyDictionary<string, LiveRun> sources, string axis, double alpha,
        (double Min, double Max)? window, int maxPoints = MetricSeries.MaxPoints)
    {
        var metricAxis = MetricSeries.ParseAxis(axis);
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var line in series)
        {
            var slice = sources.TryGetValue(line.Source, out var run)
                ? run.Series(line.Metric, metricAxis, alpha, window?.Min, window?.Max, maxPoints)
                : new SeriesSlice([], 0, false);
            data[line.Key] = new { points = slice.Points, total = slice.Total };
        }
        return new { axis, series = data };
    }

    /// <summary>
    /// Points per series for a chart <paramref name="widthPx"/> wide: min/max buckets give two points per bucket, and a
    /// bucket per two pixels draws the same line as more points would (a 2 px stroke), at a third of the points of a
    /// fixed 2,000 on a half-width chart; rounded to hundreds so pages of similar widths share one reduction.
    /// </summary>
    internal static int PointsFor(int widthPx) =>
        widthPx <= 0 ? MetricSeries.MaxPoints : Math.Clamp((widthPx + 99) / 100 * 100, 400, MetricSeries.MaxPoints);

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
        finally
        {
            _self?.Dispose();
        }
    }
}
