using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>Model Training selection → Compare in a real Chromium against the real console (runs from <see cref="ComparedRunsFixture"/>).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CompareBrowserTests : ConsoleBrowserTest
{
    private static readonly string[] CompareCharts = ["loss", "eval-loss", "learning-rate", "grad-norm", "tokens-per-second"];


    [Fact]
    public async Task Compare_ThreeRunsSelectedOnTheList_ShowsThreeSeriesPerChartAndOnlyDifferingParameters()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var page = await Chromium.OpenAsync(Host.Address, "/model-training");
        await Assertions.Expect(page.GetByTestId("run-name")).ToHaveCountAsync(3);

        var selected = 0;
        foreach (var name in new[] { "base", "longer", "hotter" })
        {
            var row = page.Locator("tr", new() { Has = page.GetByTestId("run-name").GetByText(name, new() { Exact = true }) });
            await row.Locator("input[data-testid=select-run]").CheckAsync();
            await Assertions.Expect(page.GetByTestId("runs-selected-count")).ToHaveTextAsync($"{++selected} selected");
        }
        // Filtering hides rows, not the selection.
        await page.GetByTestId("runs-search").FillAsync("er");
        await Assertions.Expect(page.GetByTestId("run-name")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("compare-runs")).ToBeEnabledAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "model-training-filtered.png") });

        await page.GetByTestId("compare-runs").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync($"{Host.Address}/model-training/compare?runs={trio.Base.Id},{trio.Longer.Id},{trio.Hotter.Id}");
        await page.Locator("[data-interactive=true]").WaitForAsync();

        var ids = new Dictionary<string, string>();
        foreach (var key in CompareCharts)
        {
            var chart = page.GetByTestId($"chart-{key}");
            await Assertions.Expect(chart.Locator(".apexcharts-canvas")).ToBeVisibleAsync(new() { Timeout = 30_000 });
            ids[key] = (await chart.Locator("[data-chart-id]").GetAttributeAsync("data-chart-id"))!;
            // Each chart: exactly three lines, one per run, in the selection's order, drawn by ApexCharts.
            await page.WaitForFunctionAsync("id => window.deepxCharts?.describe(id)?.series.length === 3", ids[key]);
            Assert.Equal(["base", "longer", "hotter"], await page.EvaluateAsync<string[]>("id => window.deepxCharts.describe(id).series", ids[key]));
            await Assertions.Expect(chart.Locator(".apexcharts-series[seriesName]")).ToHaveCountAsync(3);
        }
        // Same run, same colour in every chart.
        var colours = await page.EvaluateAsync<string[]>("id => window.deepxCharts.describe(id).colors", ids["loss"]);
        Assert.Equal(3, colours.Distinct().Count());
        foreach (var key in CompareCharts)
        {
            Assert.Equal(colours, await page.EvaluateAsync<string[]>("id => window.deepxCharts.describe(id).colors", ids[key]));
        }
        await Assertions.Expect(page.GetByTestId("outcome-adapter").First).ToHaveTextAsync(trio.AdapterName);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "compare.png"), FullPage = true });

        var rows = page.GetByTestId("config-row");
        Assert.True(await rows.CountAsync() > 10);
        await Assertions.Expect(page.Locator("[data-testid=config-row][data-key=batch_size]")).ToHaveCountAsync(1);
        await page.GetByTestId("differences-only").CheckAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        Assert.Equal(["num_epochs", "learning_rate"], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.key)"));
        await Assertions.Expect(page.Locator("[data-testid=config-row][data-key=learning_rate]")).ToContainTextAsync("5e-4");
    }

    [Fact]
    public async Task Compare_RunningRunWhileZoomed_GainsPointsKeepsTheWindowAndFollowsDarkMode()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/compare?runs={trio.Base.Id},{trio.Longer.Id},{trio.Hotter.Id}");
        var loss = page.GetByTestId("chart-loss");
        await Assertions.Expect(loss.Locator(".apexcharts-canvas")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var id = (await loss.Locator("[data-chart-id]").GetAttributeAsync("data-chart-id"))!;
        var hotter = CompareRuns.SourceOf(trio.Hotter);
        async Task<int> HotterPointsAsync() => await page.EvaluateAsync<int>("([id, s]) => window.deepxCharts.pointCount(id, s)", new[] { id, hotter });
        await page.WaitForFunctionAsync("([id, s]) => window.deepxCharts.pointCount(id, s) === 10", new[] { id, hotter });

        await page.EvaluateAsync("id => ApexCharts.exec(id, 'zoomX', 2, 6)", id);
        await page.WaitForFunctionAsync("id => window.deepxCharts.describe(id).maxX === 6", id);
        ComparedRunsFixture.AppendPoints(Env, trio.Hotter, 11, 5, 5e-4, 2);
        await page.WaitForFunctionAsync("([id, s]) => window.deepxCharts.pointCount(id, s) === 15", new[] { id, hotter });
        Assert.Equal(15, await HotterPointsAsync());
        // The redraw for the new points has run (the rendered line holds them) and the window is still the user's.
        await page.WaitForFunctionAsync("([id, s]) => window.deepxCharts.renderedCount(id, s) === 15", new[] { id, hotter });
        var zoomed = await page.EvaluateAsync<ChartState>("id => window.deepxCharts.describe(id)", id);
        Assert.Equal(2, zoomed.MinX, 3);
        Assert.Equal(6, zoomed.MaxX, 3);
        Assert.True(zoomed.Zoomed);

        await loss.Locator(".apexcharts-reset-icon").ClickAsync();
        await page.WaitForFunctionAsync("id => window.deepxCharts.describe(id).maxX >= 15", id);
        Assert.False((await page.EvaluateAsync<ChartState>("id => window.deepxCharts.describe(id)", id)).Zoomed);

        Assert.Equal("light", (await page.EvaluateAsync<ChartState>("id => window.deepxCharts.describe(id)", id)).Mode);
        await page.GetByTestId("theme-toggle").ClickAsync();
        await page.WaitForFunctionAsync("id => window.deepxCharts.describe(id).mode === 'dark'", id);
        await Assertions.Expect(loss.Locator("[data-chart-id]")).ToHaveAttributeAsync("data-dark", "true");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "compare-dark.png") });
    }

    /// <summary>What deepxCharts.describe returns.</summary>
    private sealed class ChartState
    {
        public string[] Series { get; set; } = [];
        public string[] Colors { get; set; } = [];
        public string Mode { get; set; } = "";
        public double MinX { get; set; }
        public double MaxX { get; set; }
        public bool Zoomed { get; set; }
    }
}
