using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>The New Train page's devices, read by the real console from its real worker process.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TrainingDevicesBrowserTests : ConsoleBrowserTest
{
    [Fact]
    public async Task NewTrain_MachineWithoutGpu_ShowsTheWorkersCpuLibTorchAndOffersAutoAndCpuOnly()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = await Chromium.OpenAsync(Host.Address, "/model-training/new");

        // The console ran `DeepExtension.Jobs devices`: the bundled CPU libtorch (no PyTorch here), no GPU.
        await Assertions.Expect(page.GetByTestId("devices-backend")).ToContainTextAsync("Backend cpu", new() { Timeout = 90_000 });
        await Assertions.Expect(page.GetByTestId("devices-backend")).ToContainTextAsync("libtorch 2.10.0 (bundled CPU build)");
        await Assertions.Expect(page.GetByTestId("devices-no-gpu")).ToHaveTextAsync("No NVIDIA GPU: training runs on the CPU.");
        await Assertions.Expect(page.GetByTestId("memory-estimate")).ToContainTextAsync("Estimated peak memory on the CPU");
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"new-train-devices-{width}.png"), FullPage = true });
        }

        await page.GetByTestId("train-device").ClickAsync();
        var items = page.Locator(".mud-popover-open .mud-list-item");
        await Assertions.Expect(items).ToHaveTextAsync(["auto · CPU (no GPU)", "cpu"]);
    }
}
