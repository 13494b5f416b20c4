using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class ChartControls
{
    /// <summary>EMA smoothing factor (0 = raw … 0.99).</summary>
    [Parameter]
    public double Smoothing { get; set; }

    [Parameter]
    public EventCallback<double> SmoothingChanged { get; set; }

    /// <summary>"step", "epoch" or "elapsed".</summary>
    [Parameter]
    public string Axis { get; set; } = "step";

    [Parameter]
    public EventCallback<string> AxisChanged { get; set; }

    /// <summary>Shown after the controls (a hint, a point count).</summary>
    [Parameter]
    public RenderFragment? ChildContent { get; set; }
}
