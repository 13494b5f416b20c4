using System.Text.Json.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// What the charts draw in a real Chromium: the empty state only without points, a toolbar on every drawn chart, no
/// legend entry for a series without data, whole steps on the x axis; screenshots of Evaluation Data and Compare.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ChartsBrowserTests : ConsoleBrowserTest
{
    private static readonly string[] Widths = ["1280", "1440"];

    /// <summary>A run (queued where no worker takes it) whose points log loss, learning rate and throughput only.</summary>
    private async Task<TrainingRun> RunWithoutEvaluationOrGradNormAsync(TrainingRun like)
    {
        var runs = new TrainingRunService(Env.DbFactory, Env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var run = (await runs.StartAsync(new NewTrainRequest("no-eval", like.BaseModelId, like.DatasetVersionId, like.MethodId,
            new JsonObject { ["max_tokens"] = 64 }, "cpu"))).Value!;
        var files = runs.FilesOf(run);
        for (var step = 1; step <= 3; step++)
        {
            MetricsFile.Append(files, new MetricPoint(step, step / 3.0, step, new Dictionary<string, double>
            {
                ["loss"] = 2.0 / step, ["learning_rate"] = 1e-4, ["tokens_per_second"] = 500,
            }) { TotalSteps = 3 });
        }
        return run;
    }

    private static async Task<string> ChartIdAsync(IPage page, string key) =>
        (await page.GetByTestId($"chart-{key}").Locator("[data-chart-id]").GetAttributeAsync("data-chart-id"))!;

    [Fact]
    public async Task EvaluationData_SeriesWithoutPoints_NoLegendEntryEmptyStateOnlyWithoutPointsAndWholeSteps()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var run = await RunWithoutEvaluationOrGradNormAsync(trio.Base);
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/{run.Id}");
        await page.SetViewportSizeAsync(1280, 900);
        await page.GetByRole(AriaRole.Tab, new() { Name = "Evaluation Data" }).ClickAsync();

        var loss = page.GetByTestId("chart-loss");
        await Assertions.Expect(loss.Locator(".apexcharts-canvas")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var lossId = await ChartIdAsync(page, "loss");
        // Only the training loss is drawn: no evaluation line, no legend (one series), the toolbar, no empty text.
        Assert.Equal(["Training loss"], await page.EvaluateAsync<string[]>("id => window.deepxCharts.describe(id).series", lossId));
        await Assertions.Expect(loss.Locator(".apexcharts-legend-series")).ToHaveCountAsync(0);
        await Assertions.Expect(loss.Locator(".apexcharts-toolbar")).ToHaveCountAsync(1);
        await Assertions.Expect(loss.GetByTestId("chart-empty")).ToHaveCountAsync(0);
        await Assertions.Expect(loss.Locator(".apexcharts-text.apexcharts-xaxis-label")).Not.ToHaveCountAsync(0);
        var labels = await loss.Locator(".apexcharts-xaxis-label").AllTextContentsAsync();
        Assert.All(labels.Where(l => l.Length > 0), l => Assert.Matches(@"^\d+$", l));
        Assert.Equal(["1", "2", "3"], labels.Where(l => l.Length > 0).ToArray());

        // Gradient norm was never logged: the empty state, and nothing drawn under it.
        var gradNorm = page.GetByTestId("chart-grad-norm");
        await Assertions.Expect(gradNorm.GetByTestId("chart-empty")).ToContainTextAsync("No points yet");
        await Assertions.Expect(gradNorm.Locator(".apexcharts-canvas")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("chart-learning-rate").Locator(".apexcharts-toolbar")).ToHaveCountAsync(1);

        // A run with evaluation points: both lines with their legend, every chart drawn with its toolbar, no empty text.
        await page.GotoAsync($"/model-training/{trio.Base.Id}");
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await page.GetByRole(AriaRole.Tab, new() { Name = "Evaluation Data" }).ClickAsync();
        foreach (var key in new[] { "loss", "learning-rate", "grad-norm", "tokens-per-second" })
        {
            var chart = page.GetByTestId($"chart-{key}");
            await Assertions.Expect(chart.Locator(".apexcharts-toolbar")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            await Assertions.Expect(chart.GetByTestId("chart-empty")).ToHaveCountAsync(0);
        }
        await Assertions.Expect(page.GetByTestId("chart-loss").Locator(".apexcharts-legend-series")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("chart-loss").Locator(".apexcharts-legend-series").Nth(1)).ToContainTextAsync("Evaluation loss");
        foreach (var width in Widths)
        {
            await page.SetViewportSizeAsync(int.Parse(width), 900);
            await page.WaitForTimeoutAsync(300);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"sideways scroll at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"evaluation-data-{width}.png"), FullPage = true });
        }
    }

    [Fact]
    public async Task Compare_ThreeRuns_EveryChartDrawnWithToolbarAndScreenshotsAt1280And1440()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/compare?runs={trio.Base.Id},{trio.Longer.Id},{trio.Hotter.Id}");
        foreach (var key in new[] { "loss", "eval-loss", "learning-rate", "grad-norm", "tokens-per-second" })
        {
            var chart = page.GetByTestId($"chart-{key}");
            await Assertions.Expect(chart.Locator(".apexcharts-toolbar")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            await Assertions.Expect(chart.GetByTestId("chart-empty")).ToHaveCountAsync(0);
            await Assertions.Expect(chart.Locator(".apexcharts-legend-series")).ToHaveCountAsync(3);
        }
        foreach (var width in Widths)
        {
            await page.SetViewportSizeAsync(int.Parse(width), 900);
            await page.WaitForTimeoutAsync(300);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"sideways scroll at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"compare-{width}.png"), FullPage = true });
        }
    }
}
