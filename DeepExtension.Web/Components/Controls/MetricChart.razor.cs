using DeepExtension.Core.Runs;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// One ApexCharts line chart of run metrics (wwwroot/js/charts.js). The history is read from <see cref="History"/>
/// when the chart is first rendered; later points arrive through <see cref="AppendAsync"/> as JS interop calls, so
/// the component itself never re-renders for new points.
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

    /// <summary>Metric keys drawn as series (for example "loss", "eval_loss").</summary>
    [Parameter, EditorRequired]
    public required IReadOnlyList<string> Series { get; set; }

    /// <summary>Legend names per metric key; the key itself where absent.</summary>
    [Parameter]
    public IReadOnlyDictionary<string, string>? Labels { get; set; }

    /// <summary>Points already known when the chart appears (the page's history).</summary>
    [Parameter]
    public IReadOnlyList<MetricPoint>? History { get; set; }

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
    private readonly List<MetricPoint> _pending = [];

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        // Taken synchronously before the first await: points appended from now on are queued, not lost or doubled.
        _historyTaken = true;
        var history = History?.ToList() ?? [];
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
                series = Series,
                labels = Labels ?? new Dictionary<string, string>(),
                axis = Axis,
                alpha = Smoothing,
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
            await SendAsync(history);
        }
        catch (JSDisconnectedException)
        {
        }
        catch (TaskCanceledException)
        {
        }
    }

    /// <summary>Appends new points (those carrying none of this chart's series are skipped).</summary>
    public async Task AppendAsync(IReadOnlyList<MetricPoint> points)
    {
        if (_disposed || !_historyTaken || points.Count == 0) return;
        if (_module is null)
        {
            _pending.AddRange(points);
            return;
        }
        await SendAsync(points);
    }

    public Task SetSmoothingAsync(double alpha) => CallAsync("setSmoothing", ChartId, alpha);

    public Task SetXAxisAsync(string axis) => CallAsync("setXAxis", ChartId, axis);

    /// <summary>Per series: [step, epoch, elapsed, value] rows; NaN/∞ (a diverged loss) become gaps (null).</summary>
    internal static Dictionary<string, List<double?[]>> ToSeriesRows(IReadOnlyList<string> seriesKeys, IEnumerable<MetricPoint> points)
    {
        var rows = seriesKeys.ToDictionary(s => s, _ => new List<double?[]>(), StringComparer.Ordinal);
        foreach (var point in points)
        {
            foreach (var series in seriesKeys)
            {
                if (!point.Values.TryGetValue(series, out var value)) continue;
                rows[series].Add([point.Step, point.Epoch, point.ElapsedSeconds, double.IsFinite(value) ? value : null]);
            }
        }
        return rows;
    }

    private async Task SendAsync(IEnumerable<MetricPoint> points)
    {
        var rows = ToSeriesRows(Series, points);
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
