using Bunit;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Controls;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Web;

/// <summary>The "Evaluation Data" tab of a train's page: which charts apply, the controls, history through JS interop.</summary>
public class EvaluationDataTabTests : ComponentTestContext
{
    private static readonly string[] CommonCharts = ["loss", "learning-rate", "grad-norm", "tokens-per-second"];

    private async Task<TrainingRun> StartRunWithMetricsAsync(TrainingAlgorithm algorithm, IEnumerable<MetricPoint> points)
    {
        var data = algorithm switch
        {
            TrainingAlgorithm.Dpo => TrainingHost.TwentyPreferencePairs(),
            TrainingAlgorithm.Grpo => TrainingHost.EightPromptsWithAnswers(),
            _ => TrainingHost.TwentyChats(),
        };
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, data, algorithm);
        Services.AddSingleton(new CustomizedModelService(Env.DbFactory, Env.Directories, TimeProvider.System));
        var runs = Services.GetRequiredService<TrainingRunService>();
        var parameters = new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 };
        if (algorithm == TrainingAlgorithm.Grpo) parameters["max_completion_tokens"] = 16;
        var started = await runs.StartAsync(new NewTrainRequest("charts", model.Id, version.Id, method.Id, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var run = started.Value!;
        var files = runs.FilesOf(run);
        Directory.CreateDirectory(files.Directory);
        foreach (var point in points) MetricsFile.Append(files, point);
        return run;
    }

    private static MetricPoint Sft(long step) => new(step, step / 10.0, step * 0.5, new Dictionary<string, double>
    {
        ["loss"] = 2.0 / step, ["learning_rate"] = 1e-4, ["grad_norm"] = 1.5, ["tokens_per_second"] = 900,
    });

    private static MetricPoint Dpo(long step) => new(step, step / 10.0, step * 0.5, new Dictionary<string, double>
    {
        ["loss"] = 0.69, ["learning_rate"] = 1e-5, ["grad_norm"] = 0.3, ["tokens_per_second"] = 500,
        ["rewards/chosen"] = 0.1, ["rewards/rejected"] = -0.1, ["rewards/margins"] = 0.2, ["rewards/accuracies"] = 0.75,
    });

    private static MetricPoint Grpo(long step) => new(step, step / 10.0, step * 0.5, new Dictionary<string, double>
    {
        ["loss"] = 0.01, ["learning_rate"] = 1e-6, ["grad_norm"] = 0.2, ["tokens_per_second"] = 300,
        ["reward"] = 0.5, ["reward_std"] = 0.3, ["kl"] = 0.002, ["completion_length"] = 12,
    });

    private IRenderedComponent<TrainDetails> OpenEvaluationTab(Guid runId)
    {
        var page = Render<TrainDetails>(p => p.Add(x => x.RunId, runId));
        page.WaitForAssertion(() => Assert.Contains("Evaluation Data", page.Markup), TimeSpan.FromSeconds(10));
        // The page re-renders as its live data arrives, which can replace the tab's click handler between finding the tab
        // and clicking it ("no event handler with ID …"): find and click again until the tab opens.
        page.WaitForAssertion(() =>
        {
            if (page.FindAll("[data-testid=evaluation-charts]").Count == 0)
                page.FindAll(".mud-tab").Single(t => t.TextContent.Contains("Evaluation Data")).Click();
            Assert.NotEmpty(page.FindAll("[data-testid=evaluation-charts]"));
        }, TimeSpan.FromSeconds(10));
        return page;
    }

    [Fact]
    public async Task EvaluationData_SftRun_ShowsLossLearningRateGradNormAndThroughputButNoDpoCharts()
    {
        var run = await StartRunWithMetricsAsync(TrainingAlgorithm.Sft, Enumerable.Range(1, 5).Select(i => Sft(i)));
        var charts = JSInterop.SetupModule("./js/charts.js");
        charts.Mode = JSRuntimeMode.Loose;

        var page = OpenEvaluationTab(run.Id);

        page.WaitForAssertion(() =>
        {
            foreach (var key in CommonCharts) Assert.Single(page.FindAll($"[data-testid=chart-{key}]"));
        }, TimeSpan.FromSeconds(10));
        Assert.Empty(page.FindAll("[data-testid=chart-dpo-rewards]"));
        Assert.Empty(page.FindAll("[data-testid=chart-dpo-accuracy]"));
        Assert.Equal("loss,eval_loss", page.Find("[data-testid=chart-loss] [data-chart-id]").GetAttribute("data-series"));
        Assert.Single(page.FindAll("[data-testid=chart-smoothing]"));
        Assert.Single(page.FindAll("[data-testid=chart-x-axis]"));
        // The tab order of the seed: Train Overview, Evaluation Data, Train Log.
        Assert.Equal(["Train Overview", "Evaluation Data", "Train Log"], page.FindAll(".mud-tab").Select(t => t.TextContent.Trim()).ToArray());
        // Each chart is created in JS and gets what to draw (five points, [step, loss]) through setData.
        page.WaitForAssertion(() =>
        {
            Assert.Equal(4, charts.Invocations["create"].Count);
            Assert.Equal(4, charts.Invocations["setData"].Count);
        }, TimeSpan.FromSeconds(10));
        var lossId = page.Find("[data-testid=chart-loss] [data-chart-id]").GetAttribute("data-chart-id");
        var lossData = (Dictionary<string, object>)Property(charts.Invocations["setData"].Single(i => (string)i.Arguments[0]! == lossId).Arguments[1]!, "series")!;
        var loss = (IReadOnlyList<double?[]>)Property(lossData["loss"], "points")!;
        Assert.Equal([[1, 2.0], [2, 1.0]], loss.Take(2));
        Assert.Equal(5, (int)Property(lossData["loss"], "total")!);
        Assert.Empty((IReadOnlyList<double?[]>)Property(lossData["eval_loss"], "points")!);
    }

    [Fact]
    public async Task EvaluationData_DpoRun_AddsRewardsAndAccuracyCharts()
    {
        var run = await StartRunWithMetricsAsync(TrainingAlgorithm.Dpo, Enumerable.Range(1, 3).Select(i => Dpo(i)));

        var page = OpenEvaluationTab(run.Id);

        page.WaitForAssertion(() =>
        {
            foreach (var key in CommonCharts.Append("dpo-rewards").Append("dpo-accuracy")) Assert.Single(page.FindAll($"[data-testid=chart-{key}]"));
        }, TimeSpan.FromSeconds(10));
        Assert.Equal("rewards/chosen,rewards/rejected,rewards/margins", page.Find("[data-testid=chart-dpo-rewards] [data-chart-id]").GetAttribute("data-series"));
        Assert.Empty(page.FindAll("[data-testid=chart-grpo-reward]"));
    }

    [Fact]
    public async Task EvaluationData_GrpoRun_AddsRewardKlAndCompletionLengthCharts()
    {
        var run = await StartRunWithMetricsAsync(TrainingAlgorithm.Grpo, Enumerable.Range(1, 3).Select(i => Grpo(i)));

        var page = OpenEvaluationTab(run.Id);

        page.WaitForAssertion(() =>
        {
            foreach (var key in CommonCharts.Concat(["grpo-reward", "grpo-kl", "grpo-completion-length"])) Assert.Single(page.FindAll($"[data-testid=chart-{key}]"));
        }, TimeSpan.FromSeconds(10));
        Assert.Equal("reward,reward_std", page.Find("[data-testid=chart-grpo-reward] [data-chart-id]").GetAttribute("data-series"));
        Assert.Empty(page.FindAll("[data-testid=chart-dpo-rewards]"));
    }

    private static object? Property(object target, string name) => target.GetType().GetProperty(name)!.GetValue(target);
}
