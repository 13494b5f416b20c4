using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepExtension.Core.Common;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// One run's numbers on every page against its metrics.jsonl, in a real Chromium against the real console with a real
/// worker: the list and the run's page while it trains, then the list, the overview, the charts, Compare, the database
/// row and the model card once it finished.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class LiveNumbersBrowserTests : ConsoleBrowserTest
{
    [GeneratedRegex(@"step (\d+) / (\d+)")]
    private static partial Regex StepPattern();

    private static (long Step, long Total)? StepOf(string? text) =>
        text is not null && StepPattern().Match(text) is { Success: true } m ? (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value)) : null;

    [Fact]
    public async Task LiveNumbers_TrainEndingOnAnEvaluation_ListOverviewChartsCompareAndCardAgreeWithMetricsJsonl()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft, validationPercent: 20);
        var runs = Host.Services.GetRequiredService<TrainingRunService>();
        // A second run to compare with, queued where no worker picks it up.
        var other = (await new TrainingRunService(Env.DbFactory, Env.Directories, new RecordingRunScheduler(), TimeProvider.System)
            .StartAsync(new NewTrainRequest("other", model.Id, version.Id, method.Id, new JsonObject { ["max_tokens"] = 64 }, "cpu"))).Value!;
        // Batch size 1 over the 16 training rows: 16 steps an epoch, an evaluation at the end of each, so the last
        // point of metrics.jsonl is an evaluation (the case whose "last loss" once stayed at an early step). Enough epochs
        // that the pages see several of the live store's updates while it trains, however fast the machine.
        const int epochs = 8;
        const long totalSteps = 16 * epochs;
        var parameters = new JsonObject
        {
            ["num_epochs"] = epochs, ["batch_size"] = 1, ["max_tokens"] = 64, ["learning_rate"] = 5e-3, ["save_every"] = 1000, ["save_unit"] = "steps",
        };
        var run = (await runs.StartAsync(new NewTrainRequest("agreeing", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;

        var list = await Chromium.OpenAsync(Host.Address, "/model-training");
        var details = await list.Context.NewPageAsync();
        await details.GotoAsync($"{Host.Address}/model-training/{run.Id}");
        var listRow = list.Locator("tr", new() { Has = list.GetByTestId("run-name").GetByText("agreeing", new() { Exact = true }) });

        // While it trains: whenever both pages show the same step, they show the same total and the same losses.
        var agreed = new SortedSet<long>();
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (DateTime.UtcNow < deadline)
        {
            // Each page is read in one go, so its step and loss are of one render.
            var listTexts = await listRow.EvaluateAsync<string[]>(
                "row => ['run-progress', 'run-loss'].map(id => row.querySelector(`[data-testid=${id}]`)?.textContent ?? '')");
            var detailsTexts = await details.EvaluateAsync<string[]>(
                "() => ['details-progress', 'overview-loss', 'details-status'].map(id => document.querySelector(`[data-testid=${id}]`)?.textContent ?? '')");
            var (listStep, listLoss) = (StepOf(listTexts[0]), listTexts[1]);
            var (detailsStep, detailsLoss, status) = (StepOf(detailsTexts[0]), detailsTexts[1], detailsTexts[2].Trim());
            if (listStep is { } a && detailsStep is { } b && a == b && a.Step > 0)
            {
                Assert.Equal(listLoss.Trim(), detailsLoss.Trim());
                agreed.Add(a.Step);
            }
            if (status is "Succeeded" or "Failed" or "Cancelled") break;
            await Task.Delay(100);
        }
        Assert.True(agreed.Count >= 3, $"the list and the run's page agreed on too few steps while it ran: {string.Join(", ", agreed)}");

        await Assertions.Expect(details.GetByTestId("details-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 60_000 });
        await Assertions.Expect(listRow.GetByTestId("run-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 30_000 });

        // What metrics.jsonl says, computed here from the file alone.
        var points = MetricsFile.ReadAll(runs.FilesOf(run));
        Assert.Null(points[^1]["loss"]); // the last line is the final evaluation
        Assert.NotNull(points[^1]["eval_loss"]);
        var losses = points.Where(p => p["loss"] is not null).ToList();
        var last = losses[^1]["loss"]!.Value;
        var best = losses.Min(p => p["loss"]!.Value);
        var bestEval = points.Where(p => p["eval_loss"] is not null).Min(p => p["eval_loss"]!.Value);
        Assert.Equal(totalSteps, losses[^1].Step);
        string Shown(double value) => DisplayFormat.Loss(value);

        await Assertions.Expect(listRow.GetByTestId("run-loss")).ToHaveTextAsync($"{Shown(last)} / {Shown(best)}");
        await Assertions.Expect(listRow.GetByTestId("run-progress")).ToContainTextAsync($"step {totalSteps} / {totalSteps}");
        await Assertions.Expect(details.GetByTestId("overview-loss")).ToHaveTextAsync($"{Shown(last)} / {Shown(best)}");
        await Assertions.Expect(details.GetByTestId("overview-best-eval-loss")).ToHaveTextAsync(Shown(bestEval));

        // The database row and the model card hold the same values, exactly.
        var row = (await runs.GetAsync(run.Id))!;
        Assert.Equal((totalSteps, totalSteps, last, best, bestEval), (row.Step, row.TotalSteps, row.LastLoss!.Value, row.BestLoss!.Value, row.BestEvalLoss!.Value));
        var customized = (await Host.Services.GetRequiredService<CustomizedModelService>().FindByRunAsync(run.Id))!;
        var evaluation = JsonNode.Parse(customized.CardJson)!["evaluation"]!;
        Assert.Equal(last, evaluation["final_loss"]!.GetValue<double>());
        Assert.Equal(best, evaluation["best_loss"]!.GetValue<double>());
        Assert.Equal(bestEval, evaluation["best_eval_loss"]!.GetValue<double>());

        // The loss chart draws every step: its last point is the last loss, its lowest the best.
        await details.GetByRole(AriaRole.Tab, new() { Name = "Evaluation Data" }).ClickAsync();
        var chart = details.GetByTestId("chart-loss");
        await Assertions.Expect(chart.Locator(".apexcharts-canvas")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var chartId = await chart.Locator("[data-chart-id]").GetAttributeAsync("data-chart-id");
        await details.WaitForFunctionAsync($"id => window.deepxCharts.drawnPoints(id, 'loss').length === {totalSteps}", chartId);
        var drawn = await details.EvaluateAsync<double[][]>("id => window.deepxCharts.drawnPoints(id, 'loss')", chartId);
        Assert.Equal([totalSteps, last], drawn[^1]);
        Assert.Equal(best, drawn.Min(p => p[1]));

        // Compare: final, best and best evaluation loss of the run.
        var compare = await list.Context.NewPageAsync();
        await compare.GotoAsync($"{Host.Address}/model-training/compare?runs={run.Id},{other.Id}");
        var outcome = compare.Locator($"[data-testid=outcome-row][data-run='{run.Id}']");
        await Assertions.Expect(outcome.GetByTestId("outcome-final-loss")).ToHaveTextAsync(Shown(last), new() { Timeout = 30_000 });
        await Assertions.Expect(outcome.GetByTestId("outcome-best-loss")).ToHaveTextAsync(Shown(best));
        await Assertions.Expect(outcome.GetByTestId("outcome-best-eval-loss")).ToHaveTextAsync(Shown(bestEval));
    }
}
