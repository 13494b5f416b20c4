using System.Diagnostics;
using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace DeepExtension.Tests.Web;

/// <summary>
/// A browser watching a run that trains on a worker node: its Evaluation Data chart grows while it trains, with points
/// the node sent through the console's hub (the console reads a fed run's files only after an hour without its node).
/// </summary>
[RequiresPostgreSql]
[Collection(BrowserCollection.Name)]
public sealed class NodeFeedBrowserTests(ITestOutputHelper output) : ConsoleBrowserTest
{
    private const string Key = "a-node-key-for-the-browser-test";

    protected override bool UiConsoleOnPostgres => true;

    protected override IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        [NodeFeed.KeyKey] = Key,
        [NodeFeed.FileFallbackSecondsKey] = "3600",
    };

    [Fact]
    public async Task EvaluationData_RunOnANode_ShowsItsPointsLiveThroughTheHub()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var settings = WorkerNodeProcess.Settings(Env, "gpu-box-remote");
        settings[WorkLimits.RetrySecondsKey] = "0.5";
        settings[NodeFeed.ConsoleUrlKey] = Host.Address;
        settings[NodeFeed.KeyKey] = Key;
        using var node = WorkerNodeProcess.Start(settings);
        var runs = Host.Services.GetRequiredService<TrainingRunService>();
        var parameters = TrainingHost.EndlessSft();
        var started = await runs.StartAsync(new NewTrainRequest("remote-live", model.Id, version.Id, method.Id, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var files = runs.FilesOf(started.Value!);

        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/{started.Value!.Id}");
        // The node starts, joins the cluster and takes the run: on a loaded machine that alone took over three minutes.
        await Assertions.Expect(page.GetByTestId("details-status")).ToHaveTextAsync("Running", new() { Timeout = 360_000 });
        await page.GetByRole(AriaRole.Tab, new() { Name = "Evaluation Data" }).ClickAsync();
        var chart = page.GetByTestId("chart-loss");
        await Assertions.Expect(chart.Locator(".apexcharts-canvas")).ToBeVisibleAsync(new() { Timeout = 120_000 });
        var chartId = await chart.Locator("[data-chart-id]").GetAttributeAsync("data-chart-id");

        // Until the node's hub connection is up, the console reads the run's first points from the shared files; once the
        // node's lines arrive it reads no file for an hour. Wait for that state (the node has sent twice, so a file read
        // under way when its first line came has ended), then count what the store gains from there on.
        var live = Host.Services.GetRequiredService<LiveRunStore>();
        using var watch = live.Subscribe(files, () => Task.CompletedTask);
        await WaitUntilAsync(() => watch.Run.PointsFromNodes > 0, node, "the node's first point through the hub");
        var first = watch.Run.PointsFromNodes;
        await WaitUntilAsync(() => watch.Run.PointsFromNodes > first, node, "the node's next point through the hub");
        var (pointsAtStart, fromNodesAtStart) = (watch.Run.PointCount, watch.Run.PointsFromNodes);

        // Three times: the chart catches up with what the node's worker has written, without a reload.
        var lags = new List<double>();
        var seen = pointsAtStart;
        for (var i = 0; i < 3; i++)
        {
            var written = Math.Max(seen + 3, MetricsFile.ReadAll(files).Count);
            await WaitForFileAsync(files, written, node);
            var clock = Stopwatch.StartNew();
            // Only the hub can bring them (the file fallback is an hour away), so waiting for them is the check; how long
            // they took is reported, not asserted: a loaded machine delays every hop.
            await page.WaitForFunctionAsync($"id => window.deepxCharts.drawnPoints(id, 'loss').length >= {written}", chartId,
                new() { Timeout = 180_000, PollingInterval = 50 });
            lags.Add(clock.Elapsed.TotalSeconds);
            seen = written;
        }
        output.WriteLine($"Points drawn after the node's worker wrote them (s, including this test's file polling): {string.Join(", ", lags.Select(l => l.ToString("F2")))}");

        var (gained, fromNodes) = (watch.Run.PointCount - pointsAtStart, watch.Run.PointsFromNodes - fromNodesAtStart);
        Assert.True(fromNodes >= gained, $"of the {gained} points the console gained while the chart was watched, {fromNodes} came from the node");
        Assert.Contains("Connected to the console's hub", node.Output);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"evaluation-data-remote-node-{width}.png"), FullPage = true });
        }
        Assert.True((await runs.CancelAsync(started.Value!.Id)).Succeeded);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, WorkerNodeProcess node, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!condition())
        {
            if (node.HasExited) Assert.Fail($"The node exited ({node.ExitCode}) before {what}:\n{node.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"No sign of {what} within 3 minutes:\n{node.Output}");
            await Task.Delay(50);
        }
    }

    private static async Task WaitForFileAsync(RunFiles files, int points, WorkerNodeProcess node)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!File.Exists(files.MetricsPath) || MetricsFile.ReadAll(files).Count < points)
        {
            if (node.HasExited) Assert.Fail($"The node exited ({node.ExitCode}):\n{node.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"The node's run wrote fewer than {points} points:\n{node.Output}");
            await Task.Delay(50);
        }
    }
}
