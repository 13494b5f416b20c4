using DeepExtension.Core;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Tests.Support;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>
/// The Nodes page of a console on PostgreSQL with its scheduler off (UI only), with two real worker node processes:
/// both show online with their devices; one killed with SIGKILL shows as lost.
/// </summary>
[RequiresPostgreSql]
[Collection(BrowserCollection.Name)]
public sealed class NodesBrowserTests : ConsoleBrowserTest
{
    protected override bool UiConsoleOnPostgres => true;

    protected override IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?> { [NodeService.LostAfterKey] = "3" };

    [Fact]
    public async Task NodesPage_TwoWorkersThenOneKilled_ShowsBothOnlineThenTheKilledOneLost()
    {
        // The console wrote the data root's marker at its start: the workers accept this data root.
        using var first = WorkerNodeProcess.Start(WorkerNodeProcess.Settings(Env, "gpu-box-a"));
        using var second = WorkerNodeProcess.Start(WorkerNodeProcess.Settings(Env, "gpu-box-b"));
        var page = await Chromium.OpenAsync(Host.Address, "/nodes");

        var rows = page.GetByTestId("nodes-table").Locator("tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(2, new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("node-state")).ToHaveTextAsync(["Online", "Online"], new() { Timeout = 120_000 });
        // Devices as each worker's devices report gives them: this machine has the CPU only.
        await Assertions.Expect(page.GetByTestId("node-devices")).ToContainTextAsync(["CPU", "CPU"], new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("node-devices").First).ToContainTextAsync("backend cpu");
        await Assertions.Expect(page.GetByTestId("node-slots")).ToHaveTextAsync(["1 / 1", "1 / 1"]);
        await Assertions.Expect(page.GetByTestId("node-name")).ToContainTextAsync(["gpu-box-a", "gpu-box-b"]);

        first.KillHard();

        // Lost sorts after online: the survivor first, the killed node last and red.
        await Assertions.Expect(page.GetByTestId("node-state")).ToHaveTextAsync(["Online", "Lost"], new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("node-name")).ToContainTextAsync(["gpu-box-b", "gpu-box-a"]);
        await Assertions.Expect(page.GetByTestId("node-slots").Last).ToHaveTextAsync("0 / 1");
        Assert.False(second.HasExited, second.Output);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"nodes-lost-{width}.png"), FullPage = true });
        }
    }

    [Fact]
    public async Task TrainPage_CudaRunWithOnlyCpuNodes_SaysWhyItWaitsAndWhereItRuns()
    {
        using var node = WorkerNodeProcess.Start(WorkerNodeProcess.Settings(Env, "cpu-box"));
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), DeepExtension.Core.Training.TrainingAlgorithm.Sft);
        Guid runId;
        // A console that only queues, on the same database: the run's job is in the cluster's store.
        await using (var queueing = await TrainingHost.StartAsync(Env, UiOnlyOnPostgres(Env)))
        {
            var started = await queueing.Runs.StartAsync(new DeepExtension.Core.Runs.NewTrainRequest("wants-a-gpu", model.Id, version.Id, method.Id, new() { ["max_tokens"] = 64 }, "cuda"));
            Assert.True(started.Succeeded, started.AllErrors);
            runId = started.Value!.Id;
        }
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/{runId}");

        await Assertions.Expect(page.GetByTestId("details-waiting"))
            .ToContainTextAsync("Waiting for a node with a CUDA GPU: no online node has one (cpu-box: cpu)", new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("details-placement")).ToHaveTextAsync("not started yet");
        await Assertions.Expect(page.GetByTestId("details-status")).ToHaveTextAsync("Queued");
        Assert.False(node.HasExited, node.Output);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"train-waiting-for-cuda-{width}.png"), FullPage = true });
        }
    }
}
