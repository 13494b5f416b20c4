using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// A PPO train from the New Train form in a real Chromium against the real console with a real worker, and its TRL
/// metrics and validation reward drawn on Evaluation Data; screenshots at 1280 and 1440 px.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PpoBrowserTests : ConsoleBrowserTest
{
    [Fact]
    public async Task NewTrain_PpoChosen_TrainsAndEvaluationDataChartsItsMetrics()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.EightPromptsWithAnswers(), TrainingAlgorithm.Ppo, validationPercent: 25);
        var page = await Chromium.OpenAsync(Host.Address, "/model-training/new");
        await page.SetViewportSizeAsync(1280, 900);
        // As the other form tests: fields filled before the form is interactive (and has chosen its defaults) are lost.
        await page.Locator("[data-interactive=true]").WaitForAsync();

        await page.GetByTestId("train-method").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "PPO", Exact = true }).ClickAsync();
        // PPO's own parameters replace GRPO's and there is no reward model to name.
        await Assertions.Expect(page.GetByTestId("param-ppo_epochs")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("param-vf_coef")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("Reward model", new() { Exact = true })).ToHaveCountAsync(0);
        await page.GetByTestId("train-name").FillAsync("ppo-from-form");
        await page.GetByTestId("param-max_tokens").FillAsync("64");
        await page.GetByTestId("param-max_completion_tokens").FillAsync("4");
        await page.GetByTestId("param-ppo_epochs").FillAsync("2");
        await page.GetByTestId("run-the-train").ClickAsync();
        await page.WaitForURLAsync("**/model-training", new() { Timeout = 60_000 });

        var runs = Host.Services.GetRequiredService<TrainingRunService>();
        var run = (await runs.ListAsync()).Single(r => r.Name == "ppo-from-form");
        Assert.Equal(TrainingAlgorithm.Ppo, run.Algorithm);
        Assert.Equal(2, run.TrainingParameters.PpoEpochs);
        await page.GotoAsync($"{Host.Address}/model-training/{run.Id}");
        await Assertions.Expect(page.GetByTestId("details-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 180_000 });
        var points = MetricsFile.ReadAll(runs.FilesOf((await runs.GetAsync(run.Id))!));
        Assert.Contains(points, p => p["objective/rlhf_reward"] is not null && p["policy/clipfrac"] is not null);
        Assert.Contains(points, p => p["eval_reward"] is not null);

        await page.GetByRole(AriaRole.Tab, new() { Name = "Evaluation Data" }).ClickAsync();
        foreach (var key in new[] { "loss", "eval-reward", "ppo-reward", "ppo-kl", "ppo-entropy", "ppo-losses", "ppo-clipfrac", "ppo-approxkl" })
        {
            var chart = page.GetByTestId($"chart-{key}");
            await Assertions.Expect(chart.Locator(".apexcharts-toolbar")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            await Assertions.Expect(chart.GetByTestId("chart-empty")).ToHaveCountAsync(0);
        }
        await Assertions.Expect(page.GetByTestId("chart-grpo-reward")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("chart-ppo-losses").Locator(".apexcharts-legend-series")).ToHaveCountAsync(2);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.WaitForTimeoutAsync(300);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"sideways scroll at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"ppo-evaluation-data-{width}.png"), FullPage = true });
        }
    }
}
