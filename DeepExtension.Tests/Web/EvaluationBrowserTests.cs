using System.Text.RegularExpressions;
using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>Evaluate → the evaluation's page in a real Chromium, against the real console, job and worker, with the fake Ollama judging.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class EvaluationBrowserTests : ConsoleBrowserTest
{
    protected override bool WithFakeOllama => true;

    [Fact]
    public async Task CustomizedModel_EvaluateAgainstBaseWithJudge_ShowsScoresSideBySideVerdictsAndExports()
    {
        await DeploymentFixture.DeployedAsync(Env, Ollama, name: "judge:q8_0", reference: "tiny-llama");
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);
        // The scripted judge prefers the longer answer, and calls equal lengths a tie.
        Ollama.ChatReply = (_, prompt) =>
        {
            var a = Section(prompt, "Assistant A's Answer").Length;
            var b = Section(prompt, "Assistant B's Answer").Length;
            return a > b ? "A is more complete. [[A]]" : b > a ? "B is more complete. [[B]]" : "Equal. [[C]]";
        };
        var page = await Chromium.OpenAsync(Host.Address, "/customized-models");

        await page.GetByTestId("evaluate-model").ClickAsync();
        await Assertions.Expect(page.GetByTestId("evaluate-dialog")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("evaluate-dialog")).ToContainTextAsync("all rows"); // the dataset has no validation split
        await page.GetByTestId("evaluate-max-examples").FillAsync("6");
        await page.GetByTestId("evaluate-max-new-tokens").FillAsync("6");
        await page.GetByTestId("evaluate-judge").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "judge:q8_0" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("evaluate-judge-prompt")).ToBeVisibleAsync();
        await page.GetByTestId("evaluate-ok").ClickAsync();

        await page.WaitForUrlOrExplainAsync(new Regex("/evaluations/[0-9a-f-]{36}$"));
        await Assertions.Expect(page.GetByTestId("evaluation-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 180_000 });
        var aggregates = page.GetByTestId("evaluation-aggregates");
        await Assertions.Expect(aggregates).ToContainTextAsync("tiny-qwen2");
        await Assertions.Expect(aggregates).ToContainTextAsync(customized.Name);
        await Assertions.Expect(aggregates).ToContainTextAsync("Perplexity");
        await Assertions.Expect(aggregates).ToContainTextAsync(new Regex(@"\d+ / \d+ / \d+ vs tiny-qwen2"));
        await Assertions.Expect(page.GetByTestId("evaluation-example")).ToHaveCountAsync(6);
        await Assertions.Expect(page.GetByTestId("example-answer")).ToHaveCountAsync(12);
        await Assertions.Expect(page.GetByTestId("example-verdict")).ToHaveCountAsync(6);
        await Assertions.Expect(page.GetByTestId("example-question").First).ToContainTextAsync("What is 0 plus one?");
        await page.WaitForTimeoutAsync(300);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.WaitForTimeoutAsync(200);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"the page scrolls sideways at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"evaluation-{width}.png"), FullPage = true });
        }

        await page.GetByTestId("sort-examples").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "largest difference in reference loss" }).ClickAsync();
        await page.GetByText("Only where the models disagree").ClickAsync();
        await Assertions.Expect(page.GetByTestId("examples-shown")).ToContainTextAsync("of 6");

        var csv = await page.Context.APIRequest.GetAsync($"{Host.Address}/api/evaluations/{page.Url.Split('/')[^1]}/results.csv");
        Assert.Equal(200, csv.Status);
        var lines = (await csv.TextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("index,model,question,reference,answer", lines[0]);
        var jsonl = await page.Context.APIRequest.GetAsync($"{Host.Address}/api/evaluations/{page.Url.Split('/')[^1]}/results.jsonl");
        Assert.Equal(6, (await jsonl.TextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        await page.GotoAsync("/evaluations");
        await Assertions.Expect(page.GetByTestId("evaluation-link")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "evaluations.png") });
    }

    private static string Section(string prompt, string title) =>
        Regex.Match(prompt, $@"\[The Start of {Regex.Escape(title)}\]\n(.*?)\n\[The End of {Regex.Escape(title)}\]", RegexOptions.Singleline).Groups[1].Value;
}
