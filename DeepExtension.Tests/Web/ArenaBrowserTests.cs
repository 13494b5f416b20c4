using DeepExtension.Core.Accounts;
using DeepExtension.Core.Arena;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// The arena on Live Models in a real Chromium against the real console: two models deployed to the fake Ollama answer
/// at their own pace, both answers grow at the same time, the vote is recorded and tallied; a Viewer may not vote.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ArenaBrowserTests : ConsoleBrowserTest
{
    private const int Words = 12;
    private static readonly TestAccount Viewer = new("viewer@deepx.test", "Viewer-Passw0rd!");

    protected override bool WithFakeOllama => true;

    private static string AnswerOf(string model) => string.Join(" ", Enumerable.Range(1, Words).Select(i => $"{model.Split(':')[0]}-{i}"));

    [Fact]
    public async Task Arena_TwoModelsOnePrompt_BothStreamAtOnceAndTheBlindVoteIsRecordedAndTallied()
    {
        var (_, alpha) = await DeploymentFixture.DeployedAsync(Env, Ollama, name: "alpha:q8_0", reference: "tiny-llama");
        await DeploymentFixture.DeployedAsync(Env, Ollama, name: "beta:q8_0", reference: "tiny-qwen2", environmentId: alpha.EnvironmentId);
        Ollama.ChatReply = (model, _) => AnswerOf(model);
        // Each model streams a word at its own pace: alpha's answer takes about 2 s, beta's about 3.5 s.
        Ollama.ChatPieceDelay = model => TimeSpan.FromMilliseconds(model.StartsWith("alpha", StringComparison.Ordinal) ? 160 : 280);
        var page = await Chromium.OpenAsync(Host.Address, "/live-models");
        await Assertions.Expect(page.GetByTestId("live-availability")).ToHaveTextAsync(["Available", "Available"], new() { Timeout = 30_000 });

        await page.GetByTestId("open-arena").ClickAsync();
        await Assertions.Expect(page.GetByTestId("arena-panel")).ToBeVisibleAsync();
        await page.GetByTestId("arena-input").FillAsync("Count for me");
        await page.GetByTestId("arena-send").ClickAsync();

        // Both answers have grown past their second word while both are still streaming: they stream at the same time.
        await page.WaitForFunctionAsync("""
            () => {
                const answers = [...document.querySelectorAll('[data-testid=arena-answer]')];
                return answers.length === 2 && answers.every(a => a.dataset.streaming === 'true' && a.textContent.includes('-2 '));
            }
            """, null, new() { Timeout = 15_000 });
        // Blind: no names while the round is open, and no vote before both answers are complete.
        await Assertions.Expect(page.GetByTestId("arena-name")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("vote-a")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "arena-streaming.png"), FullPage = true });

        await Assertions.Expect(page.GetByTestId("vote-a")).ToBeEnabledAsync(new() { Timeout = 30_000 });
        var answers = await page.GetByTestId("arena-answer").AllTextContentsAsync();
        Assert.Equal(2, answers.Count);
        Assert.Equal([AnswerOf("alpha"), AnswerOf("beta")], answers.Select(a => a.Trim()).Order().ToArray());
        await Assertions.Expect(page.GetByTestId("arena-name")).ToHaveCountAsync(0);

        await page.GetByTestId("vote-a").ClickAsync();

        await Assertions.Expect(page.GetByTestId("arena-voted")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("arena-name")).ToHaveCountAsync(2);
        var left = (await page.GetByTestId("arena-name").First.TextContentAsync())!.Trim();
        var right = (await page.GetByTestId("arena-name").Last.TextContentAsync())!.Trim();
        Assert.Equal(["alpha:q8_0", "beta:q8_0"], new[] { left, right }.Order().ToArray());
        Assert.Equal(AnswerOf(left), answers[0].Trim());
        await Assertions.Expect(page.GetByTestId("arena-voted")).ToContainTextAsync($"{left} (A) is better");
        // The tally is kept from alpha's side (first by name): a win when alpha answered on the left.
        var alphaWon = left == "alpha:q8_0";
        var row = page.GetByTestId("arena-tally-row");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.GetByTestId("arena-tally-wins")).ToHaveTextAsync(alphaWon ? "1" : "0");
        await Assertions.Expect(row.GetByTestId("arena-tally-losses")).ToHaveTextAsync(alphaWon ? "0" : "1");
        await Assertions.Expect(page.GetByTestId("arena-pair-tally")).ToContainTextAsync(alphaWon ? "1 win" : "1 loss");

        await using (var db = await Env.DbFactory.CreateDbContextAsync())
        {
            var vote = await db.ArenaVotes.SingleAsync();
            Assert.Equal((left, right, "Count for me", AnswerOf(left), AnswerOf(right), ArenaVerdict.A, TestAccount.Admin.Email),
                (vote.ModelAName, vote.ModelBName, vote.Prompt, vote.AnswerA, vote.AnswerB, vote.Verdict, vote.CreatedBy));
        }

        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.WaitForTimeoutAsync(200);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"the page scrolls sideways at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"arena-{width}.png"), FullPage = true });
        }

        // A Viewer may try the models but not vote.
        Assert.True((await Host.Services.GetRequiredService<UserAdministration>().CreateAsync(Viewer.Email, Viewer.Password, Roles.Viewer)).Succeeded);
        Ollama.ChatPieceDelay = null;
        var viewerPage = await Chromium.OpenAsync(Host.Address, "/live-models", Viewer);
        await Assertions.Expect(viewerPage.GetByTestId("live-availability")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
        await viewerPage.GetByTestId("open-arena").ClickAsync();
        await viewerPage.GetByTestId("arena-input").FillAsync("Hello");
        await viewerPage.GetByTestId("arena-send").ClickAsync();
        await Assertions.Expect(viewerPage.GetByTestId("arena-cannot-vote")).ToContainTextAsync("Viewer", new() { Timeout = 30_000 });
        await Assertions.Expect(viewerPage.GetByTestId("vote-a")).ToBeDisabledAsync();
        await Assertions.Expect(viewerPage.GetByTestId("arena-tally-row")).ToHaveCountAsync(1);
    }
}
