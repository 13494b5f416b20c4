using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// The pages issue 27 changed, in a real Chromium at the two widths the console is used at: a judge without verdicts,
/// "Try the judge", an evaluation of two trains' models on Compare, a train's page with truncated examples. Each fits
/// without sideways scrolling; screenshots land in the screenshot folder.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class HonestConsoleBrowserTests : ConsoleBrowserTest
{
    [Fact]
    public async Task ChangedPages_At1280And1440_FitAndShowWhatTheyMean()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.ChatReply = (_, _) => "Both assistants answer reasonably well; neither is clearly better overall.";
        await DeploymentFixture.DeployedAsync(Env, ollama, name: "judge:q8_0", reference: "tiny-llama");
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var unjudged = await RunEvaluationFixture.EvaluateBaseRunAsync(Env, trio, (_, opponent) =>
            new JudgedPair(opponent, JudgeChoice.Unparsed, JudgeChoice.Unparsed, "Both assistants answer reasonably well; neither is clearly better overall."));
        await RunEvaluationFixture.EvaluateTwoRunsAsync(Env, trio);
        var hotter = new RunFiles(Path.Combine(Env.DataRoot, trio.Hotter.RelativeDirectory));
        hotter.Log.Append(RunLogLevel.Warning, new TrainingDataReport(30, 5, 23, 0, 64).ToLogMessage());

        // tiny-qwen2 as if it came from the Hub: its card names the repository and commit.
        await using (var db = await Env.DbFactory.CreateDbContextAsync())
        {
            var download = new DeepExtension.Core.HubDownloads.HubDownload
            {
                Id = Guid.NewGuid(), Repository = "deepx-test/tiny-qwen2", Revision = "main", Commit = "0123456789abcdef0123456789abcdef01234567",
                TargetPath = "tiny-qwen2", TechnicalName = "tiny-qwen2", ModelName = "Tiny Qwen2", Architecture = "Qwen2ForCausalLM",
                BaseModelId = trio.Base.BaseModelId, CreatedAtUtc = DateTime.UtcNow,
            };
            download.Enqueue(DateTime.UtcNow);
            download.Start(DateTime.UtcNow);
            download.Finish(DeepExtension.Core.Work.WorkStatus.Succeeded, null, DateTime.UtcNow);
            db.HubDownloads.Add(download);
            await db.SaveChangesAsync();
        }

        var page = await Chromium.NewPageAsync(Host.Address);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);

            await OpenAsync(page, $"/evaluations/{unjudged.Id}");
            await Assertions.Expect(page.GetByTestId("judge-no-verdict-warning")).ToContainTextAsync("The judge gave no verdict on 2 of 2 pairs");
            await ShotAsync(page, $"evaluation-no-verdict-{width}", width);

            await OpenAsync(page, $"/model-training/compare?runs={trio.Base.Id},{trio.Longer.Id}");
            await Assertions.Expect(page.GetByTestId("evaluation-column-link").First).ToContainTextAsync(" vs tiny-qwen2 on v1 all");
            await ShotAsync(page, $"compare-evaluation-names-{width}", width);

            await OpenAsync(page, $"/model-training/{trio.Hotter.Id}");
            await Assertions.Expect(page.GetByTestId("details-truncated-warning")).ToContainTextAsync("23 of 35 examples");
            await Assertions.Expect(page.GetByTestId("details-delete")).ToBeDisabledAsync();
            await ShotAsync(page, $"train-numbers-{width}", width);

            await OpenAsync(page, $"/model-training/{trio.Base.Id}");
            await page.GetByTestId("evaluate-model").ClickAsync();
            await Assertions.Expect(page.GetByTestId("evaluate-dialog")).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await page.GetByTestId("evaluate-judge").ClickAsync();
            await page.GetByRole(AriaRole.Option, new() { Name = "judge:q8_0" }).ClickAsync();
            await page.GetByTestId("evaluate-try-judge").ClickAsync();
            await Assertions.Expect(page.GetByTestId("judge-trial-verdict")).ToContainTextAsync("No verdict");
            await page.GetByTestId("judge-trial").ScrollIntoViewIfNeededAsync();
            await page.WaitForTimeoutAsync(300);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"evaluate-try-judge-{width}.png") });
            await page.GetByTestId("evaluate-cancel").ClickAsync();

            await OpenAsync(page, "/base-models");
            await page.Locator("tr", new() { HasText = "tiny-qwen2" }).GetByTestId("toggle-card").First.ClickAsync();
            await Assertions.Expect(page.GetByTestId("card-commit").First).ToContainTextAsync("0123456789abcdef");
            await ShotAsync(page, $"base-model-card-source-{width}", width);
        }
    }

    private static async Task OpenAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await page.Locator("[data-interactive=true]").WaitForAsync();
    }

    private static async Task ShotAsync(IPage page, string name, int width)
    {
        await page.WaitForTimeoutAsync(300);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"{name} scrolls sideways at {width} px");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"{name}.png"), FullPage = true });
    }
}
