using Bunit;
using DeepExtension.Core.Runs;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Tests.Web;

/// <summary>MetricChart follows the layout's dark mode (the cascaded flag) through charts.js.</summary>
public sealed class MetricChartThemeTests : BunitContext
{
    private static readonly IReadOnlyList<ChartSeries> Loss = [new("loss", "loss", "Training loss")];

    /// <summary>The layout's cascade around one chart; rendering it again with another flag is the theme toggle.</summary>
    private static void Layout(ComponentParameterCollectionBuilder<CascadingValue<bool>> p, bool dark) => p
        .Add(c => c.Name, MetricChart.DarkModeCascade)
        .Add(c => c.Value, dark)
        .AddChildContent<MetricChart>(c => c.Add(x => x.Key, "loss").Add(x => x.Series, Loss).Add(x => x.Sources, new Dictionary<string, LiveRun>()));

    private IRenderedComponent<CascadingValue<bool>> RenderChart(bool dark) => Render<CascadingValue<bool>>(p => Layout(p, dark));

    [Fact]
    public void MetricChart_DarkModeOn_IsCreatedDarkAndRecolouredWhenTheToggleFlips()
    {
        var charts = JSInterop.SetupModule("./js/charts.js");
        charts.Mode = JSRuntimeMode.Loose;

        var host = RenderChart(dark: true);

        host.WaitForAssertion(() => Assert.Single(charts.Invocations["create"]));
        var options = charts.Invocations["create"].Single().Arguments[1]!;
        Assert.Equal(true, options.GetType().GetProperty("dark")!.GetValue(options));
        Assert.Empty(charts.Invocations["setTheme"]);

        host.Render(p => Layout(p, dark: false));

        host.WaitForAssertion(() => Assert.Equal([false], charts.Invocations["setTheme"].Select(i => (bool)i.Arguments[1]!)));
        Assert.Equal("false", host.Find("[data-chart-id]").GetAttribute("data-dark"));
    }

    [Fact]
    public void MetricChart_LightModeUnchanged_IsCreatedLightAndNeverRecoloured()
    {
        var charts = JSInterop.SetupModule("./js/charts.js");
        charts.Mode = JSRuntimeMode.Loose;

        var host = RenderChart(dark: false);
        host.WaitForAssertion(() => Assert.Single(charts.Invocations["create"]));
        host.Render(p => Layout(p, dark: false));

        var options = charts.Invocations["create"].Single().Arguments[1]!;
        Assert.Equal(false, options.GetType().GetProperty("dark")!.GetValue(options));
        Assert.Empty(charts.Invocations["setTheme"]);
    }
}
