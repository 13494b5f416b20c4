using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>Deploy → Live Models → chat → remove in a real Chromium, against the real console, job and worker, and the fake Ollama.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DeploymentBrowserTests : ConsoleBrowserTest
{
    protected override bool WithFakeOllama => true;

    [Fact]
    public async Task CustomizedModel_DeployChatRemove_GoesLiveInOllamaAnswersAndIsRemoved()
    {
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env, deploymentTemplate: CustomizedModelFixture.ChatMlTemplate, systemPrompt: "Be brief.");
        await DeploymentFixture.AddEnvironmentAsync(Env, Ollama.BaseUrl, "workstation");
        // Slow Ollama's status lines down so the page is seen while it deploys.
        Ollama.CreateLineDelay = TimeSpan.FromMilliseconds(400);
        var page = await Chromium.OpenAsync(Host.Address, "/customized-models");

        await page.GetByTestId("deploy-model").ClickAsync();
        await Assertions.Expect(page.GetByTestId("deploy-files")).ToContainTextAsync("merged first", new() { Timeout = 60_000 });
        await page.GetByTestId("deploy-quantization").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "q4_K_M" }).ClickAsync();
        var expectedName = customized.Name.ToLowerInvariant() + ":q4_k_m";
        await Assertions.Expect(page.GetByTestId("deploy-name")).ToHaveValueAsync(expectedName);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "deploy-dialog.png") });
        await page.GetByTestId("deploy-ok").ClickAsync();

        await page.WaitForURLAsync("**/live-models", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("deployment-name")).ToHaveTextAsync(expectedName);
        await Assertions.Expect(page.GetByTestId("deployment-stage")).ToContainTextAsync("Ollama:", new() { Timeout = 120_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "live-models-deploying.png"), FullPage = true });
        await Assertions.Expect(page.GetByTestId("live-availability")).ToHaveTextAsync("Available", new() { Timeout = 120_000 });
        Assert.Contains(expectedName, Ollama.ModelNames);

        await page.GetByTestId("chat-deployment").ClickAsync();
        await page.GetByTestId("chat-input").FillAsync("hello there");
        await page.GetByTestId("chat-send").ClickAsync();
        await Assertions.Expect(page.GetByTestId("chat-assistant")).ToContainTextAsync("[Be brief.] You said: hello there");
        await Assertions.Expect(page.GetByTestId("live-availability")).ToHaveTextAsync("Loaded", new() { Timeout = 30_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "live-models.png"), FullPage = true });

        await page.GetByTestId("remove-deployment").ClickAsync();
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Remove", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("no-deployments")).ToBeVisibleAsync();
        Assert.Empty(Ollama.ModelNames);
    }
}
