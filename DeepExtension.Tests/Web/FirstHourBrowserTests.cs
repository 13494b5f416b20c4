using DeepExtension.Core;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// A new user's first hour in a real Chromium against the real console: the Home checklist leads to a base model
/// downloaded from the (fake) Hub, a sample dataset added in one click, and a first train started.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class FirstHourBrowserTests : ConsoleBrowserTest
{
    private const string Repo = "tiny-org/tiny-qwen2";
    private FakeHubServer _hub = null!;

    protected override IReadOnlyDictionary<string, string?>? HostSettings => new Dictionary<string, string?>
    {
        [$"{DeepExtensionOptions.SectionName}:HuggingFace:Endpoint"] = _hub.Endpoint,
    };

    public override async Task InitializeAsync()
    {
        _hub = await FakeHubServer.StartAsync();
        _hub.AddRepository(Repo, ReferenceModels.BundledPathOf("tiny-qwen2"), include: name => !name.StartsWith("reference", StringComparison.Ordinal));
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _hub.DisposeAsync();
    }

    private static async Task ScreenshotsAsync(IPage page, string name, bool fullPage = true)
    {
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"{name}-{width}.png"), FullPage = fullPage });
        }
    }

    [Fact]
    public async Task Checklist_DownloadFromTheHubAddASampleAndTrain_EachStepLeadsToTheNext()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/");
        await Assertions.Expect(page.GetByTestId("next-step")).ToContainTextAsync("Download from the Hub");
        await page.GetByTestId("journey-base-models").ClickAsync();

        // Base model: repository → plan → confirm → progress → registered.
        await page.GetByTestId("download-from-hub").ClickAsync();
        await page.GetByTestId("hub-repository").FillAsync(Repo);
        await page.GetByTestId("hub-check").ClickAsync();
        await Assertions.Expect(page.GetByTestId("hub-plan-files")).ToContainTextAsync("model.safetensors");
        await Assertions.Expect(page.GetByTestId("hub-plan-summary")).ToContainTextAsync("Qwen2ForCausalLM");
        await ScreenshotsAsync(page, "hub-download-plan", fullPage: false);
        _hub.BytesPerSecond = 150_000;
        await page.GetByTestId("hub-download").ClickAsync();
        await Assertions.Expect(page.GetByTestId("hub-download-numbers")).ToContainTextAsync("/s", new() { Timeout = 30_000 });
        await ScreenshotsAsync(page, "hub-download-progress");
        _hub.BytesPerSecond = null;
        await Assertions.Expect(page.GetByTestId("hub-download-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("technical-name-cell")).ToHaveTextAsync("tiny-qwen2");
        await ScreenshotsAsync(page, "hub-download-done");

        // Dataset: one click.
        await page.GotoAsync($"{Host.Address}/");
        await Assertions.Expect(page.GetByTestId("journey-done")).ToHaveCountAsync(1);
        await page.GetByTestId("journey-datasets").ClickAsync();
        await page.GetByTestId("add-sample-dataset").ClickAsync();
        await Assertions.Expect(page.GetByTestId("sample-chat")).ToContainTextAsync("20 chats");
        await ScreenshotsAsync(page, "datasets-samples", fullPage: false);
        await Browser.ChooseFromMenuAsync(page, "add-sample-dataset", "sample-chat");
        // Adding validates the sample like an upload: CPU work that a loaded machine makes slower than a click.
        await Assertions.Expect(page.GetByTestId("datasets-table")).ToContainTextAsync("sample-chat", new() { Timeout = 60_000 });

        // First train, from the checklist.
        await page.GotoAsync($"{Host.Address}/");
        await Assertions.Expect(page.GetByTestId("journey-done")).ToHaveCountAsync(2);
        await ScreenshotsAsync(page, "home-checklist");
        await page.GetByTestId("journey-train").ClickAsync();
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await page.GetByTestId("train-name").FillAsync("first-hour");
        await page.GetByTestId("param-num_epochs").FillAsync("1");
        await page.GetByTestId("run-the-train").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/model-training$"));
        await Assertions.Expect(page.GetByTestId("run-name")).ToHaveTextAsync("first-hour");
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 120_000 });

        var model = Assert.Single(await Env.BaseModels.ListAsync());
        Assert.Equal(Repo, model.SourceRepository);
    }
}
