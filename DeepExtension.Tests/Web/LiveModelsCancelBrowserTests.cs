using DeepExtension.Core.Deployment;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>Cancel on Live Models, clicked in a real Chromium, while the fake Ollama has stopped reading the upload.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LiveModelsCancelBrowserTests : ConsoleBrowserTest
{
    protected override bool WithFakeOllama => true;

    protected override IReadOnlyDictionary<string, string?>? HostSettings => new Dictionary<string, string?>
    {
        ["DeepExtension:Deployment:StallTimeoutSeconds"] = "600",
        ["DeepExtension:Deployment:StreamedUploadThresholdBytes"] = "0",
    };

    [Fact]
    public async Task LiveModels_CancelAStalledUpload_EndsTheDeploymentCancelledAndOffersRemove()
    {
        var complete = await DeploymentFixture.AddCompleteModelAsync(Env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(Env, Ollama.BaseUrl);
        // The small files go through; the weights stall, so nothing but the cancel ends the deployment.
        Ollama.StallBlobUploadsAfterBytes = 4096;
        Ollama.StallOnlyBodiesOver = 100_000;
        var service = Host.Services.GetRequiredService<DeploymentService>();
        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "stalled", OllamaQuantization.None));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var page = await Chromium.OpenAsync(Host.Address, "/live-models");

        await Assertions.Expect(page.GetByTestId("deployment-stage")).ToContainTextAsync("Uploading model.safetensors", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("remove-deployment")).ToHaveCountAsync(0);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.WaitForTimeoutAsync(200);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"the page scrolls sideways at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"live-models-cancel-{width}.png"), FullPage = true });
        }
        await page.GetByTestId("cancel-deployment").ClickAsync();
        await Assertions.Expect(page.GetByTestId("confirm-goes")).ToContainTextAsync("The upload or create in progress");
        await page.GetByTestId("confirm-ok").ClickAsync();

        await Assertions.Expect(page.GetByTestId("remove-deployment")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("cancel-deployment")).ToHaveCountAsync(0);
        Assert.Equal(WorkStatus.Cancelled, (await service.GetAsync(submitted.Value!.Id))!.Status);
        Assert.Empty(Ollama.ModelNames);
    }
}
