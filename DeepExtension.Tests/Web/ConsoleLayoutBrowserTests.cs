using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// Every page, with data on it (long names, trains in every state, deployments), at the two widths the console is
/// used at: nothing scrolls sideways, no table cuts its columns behind a scroll bar, no error shows, and no request
/// fails (the favicon included). Screenshots of each page land in the screenshot folder (the README shows some).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ConsoleLayoutBrowserTests : ConsoleBrowserTest
{
    [Theory]
    [InlineData(1280)]
    [InlineData(1440)]
    public async Task EveryPage_WithDataAtThisWidth_FitsWithoutSidewaysScrollingOrErrors(int width)
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var seeded = await ConsoleDataFixture.CreateAsync(Env, ollama);
        var trio = seeded.Trio;
        var pages = new (string Name, string Path, string Heading)[]
        {
            ("home", "/", "Home"),
            ("base-models", "/base-models", "Base Models"),
            ("datasets", "/datasets", "Datasets"),
            ("training-methods", "/training-methods", "Training Methods"),
            ("model-training", "/model-training", "Model Training"),
            ("new-train", "/model-training/new", "Start a New Train"),
            ("train-details", $"/model-training/{trio.Hotter.Id}", trio.Hotter.Name),
            ("failed-train", $"/model-training/{seeded.Failed.Id}", seeded.Failed.Name),
            ("compare", $"/model-training/compare?runs={trio.Base.Id},{trio.Longer.Id},{trio.Hotter.Id}", "Compare"),
            ("customized-models", "/customized-models", "Customized Models"),
            ("complete-models", "/complete-models", "Complete Models"),
            ("live-models", "/live-models", "Live Models"),
            ("deployment-tools", "/deployment-tools", "Deployment Tool Configuration"),
            ("nodes", "/nodes", "Nodes"),
        };

        var page = await Chromium.NewPageAsync(Host.Address);
        await page.SetViewportSizeAsync(width, 900);
        var failedRequests = new List<string>();
        page.Response += (_, response) =>
        {
            if (response.Status >= 400) failedRequests.Add($"{response.Status} {response.Url}");
        };
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") consoleErrors.Add(message.Text);
        };

        foreach (var (name, path, heading) in pages)
        {
            await page.GotoAsync(path);
            await page.Locator("[data-interactive=true]").WaitForAsync();
            await Assertions.Expect(page.Locator("h1")).ToContainTextAsync(heading);
            await Assertions.Expect(page).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex(" · DeepExtension$"));
            // Per-browser column choices and local times arrive right after the first render.
            await page.WaitForTimeoutAsync(300);
            await AssertFitsAsync(page, $"{name} at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"layout-{name}-{width}.png"), FullPage = true });
        }

        // The model cards, opened, stay within the page too.
        foreach (var path in new[] { "/base-models", "/customized-models", "/complete-models" })
        {
            await page.GotoAsync(path);
            await page.Locator("[data-interactive=true]").WaitForAsync();
            await page.GetByTestId("toggle-card").First.ClickAsync();
            await Assertions.Expect(page.GetByTestId("card-section").First).ToBeVisibleAsync();
            await AssertFitsAsync(page, $"{path} with its card open at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"layout-{path.Trim('/')}-card-{width}.png"), FullPage = true });
        }

        Assert.Empty(failedRequests);
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task BaseModels_ColumnHiddenThenPageReloaded_StaysHiddenInThisBrowser()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        await ConsoleDataFixture.CreateAsync(Env, ollama);
        var page = await Chromium.OpenAsync(Host.Address, "/base-models");
        await Assertions.Expect(page.GetByTestId("vocab-cell")).ToHaveCountAsync(3);

        await page.GetByTestId("column-chooser").ClickAsync();
        await page.GetByTestId("column-vocab").ClickAsync();
        await Assertions.Expect(page.GetByTestId("vocab-cell")).ToHaveCountAsync(0);

        await page.ReloadAsync();
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await Assertions.Expect(page.GetByTestId("technical-name-cell")).ToHaveCountAsync(3);
        await Assertions.Expect(page.GetByTestId("vocab-cell")).ToHaveCountAsync(0);
        // Another table keeps its own choice.
        await page.GotoAsync("/model-training");
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await Assertions.Expect(page.Locator("th", new() { HasText = "Base model" })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task TruncatedName_CopyButton_PutsTheWholeNameOnTheClipboard()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        await ConsoleDataFixture.CreateAsync(Env, ollama);
        var page = await Chromium.OpenAsync(Host.Address, "/base-models");
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Host.Address });
        var row = page.Locator("tr", new() { Has = page.GetByTestId("technical-name-cell").GetByText(ConsoleDataFixture.LongTechnicalName) });
        await Assertions.Expect(row.GetByTestId("technical-name-cell")).ToHaveAttributeAsync("title", ConsoleDataFixture.LongTechnicalName);

        await row.GetByTestId("copy-text").First.ClickAsync();

        await Assertions.Expect(page.GetByText($"Copied {ConsoleDataFixture.LongTechnicalName}")).ToBeVisibleAsync();
        Assert.Equal(ConsoleDataFixture.LongTechnicalName, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
    }

    private static async Task AssertFitsAsync(IPage page, string where)
    {
        var overflow = await page.EvaluateAsync<int[]>(
            "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]");
        Assert.True(overflow[0] <= overflow[1], $"{where}: the page scrolls sideways ({overflow[0]} px of content in {overflow[1]} px).");
        var tables = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('.mud-table-container')].filter(t => t.scrollWidth > t.clientWidth + 1)" +
            ".map(t => (t.closest('[data-testid]')?.getAttribute('data-testid') ?? 'table') + ': ' + t.scrollWidth + ' > ' + t.clientWidth)");
        Assert.True(tables.Length == 0, $"{where}: tables scroll sideways: {string.Join("; ", tables)}");
        Assert.False(await page.Locator("#blazor-error-ui").IsVisibleAsync(), $"{where}: the error bar shows.");
        var alerts = await page.Locator(".mud-alert-text-error:visible, .mud-alert-filled-error:visible, .mud-alert-outlined-error:visible").AllTextContentsAsync();
        Assert.True(alerts.Count == 0 || where.StartsWith("failed-train", StringComparison.Ordinal), $"{where}: error shown: {string.Join(" | ", alerts)}");
    }
}
