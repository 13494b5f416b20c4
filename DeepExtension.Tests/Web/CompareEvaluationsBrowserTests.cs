using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>Compare's evaluation scores in a real Chromium against the real console, at 1280 and 1440 px.</summary>
[Collection(BrowserCollection.Name)]
public sealed class CompareEvaluationsBrowserTests : ConsoleBrowserTest
{
    [Fact]
    public async Task Compare_OneOfThreeRunsEvaluated_ShowsItsScoresLinkedAndTheOthersEmptyWithinThePage()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var evaluation = await RunEvaluationFixture.EvaluateBaseRunAsync(Env, trio);
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/compare?runs={trio.Base.Id},{trio.Longer.Id},{trio.Hotter.Id}");

        var table = page.GetByTestId("compare-evaluations");
        await Assertions.Expect(table).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("evaluation-column")).ToHaveCountAsync(3);
        await Assertions.Expect(page.GetByTestId("evaluation-none")).ToHaveCountAsync(2);
        await Assertions.Expect(table.Locator("[data-key=perplexity] [data-testid=evaluation-value]")).ToHaveTextAsync("2.117");
        await table.GetByTestId("evaluation-score-row").First.ScrollIntoViewIfNeededAsync();
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            // The charts redraw for the new width (debounced): the page must settle within the window, not scroll sideways.
            var fits = true;
            try
            {
                await page.WaitForFunctionAsync("() => document.documentElement.scrollWidth <= window.innerWidth", null, new() { Timeout = 5_000 });
            }
            catch (TimeoutException)
            {
                fits = false;
            }
            // On failure, name the outermost elements that stick out on the right.
            var wide = fits ? "" : await page.EvaluateAsync<string>("""
                () => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 1))
                    .slice(0, 5).map(e => `${e.tagName}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`).join('; ')
                """);
            Assert.True(fits, $"the page scrolls sideways at {width} px: {wide}");
            await page.WaitForTimeoutAsync(300);
            await table.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"compare-evaluations-{width}.png") });
        }

        await page.GetByTestId("evaluation-column-link").ClickAsync();
        await page.WaitForURLAsync($"**/evaluations/{evaluation.Id}");
        await Assertions.Expect(page.GetByTestId("evaluation-aggregates")).ToContainTextAsync("2.117");
    }
}
