using DeepExtension.Core.Deployment;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, fault 6: an upload to an Ollama server that stalls had no timeout and could not be cancelled. The console's
/// scheduler (Quartz, SQLite store), the real deployment job and a fake Ollama told to stop reading blob uploads.
/// </summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class OllamaTransferFaultTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData(0L)] // Every file streamed from disk.
    [InlineData(long.MaxValue)] // Every file sent as one buffer (OllamaSharp's upload).
    public async Task Deploy_OllamaStopsReadingTheUpload_FailsAfterTheStallTimeoutSayingSoAndWhatStays(long streamedFrom)
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.StallBlobUploadsAfterBytes = 4096;
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        await using var host = await TrainingHost.StartAsync(env, new Dictionary<string, string?>
        {
            ["DeepExtension:Deployment:StallTimeoutSeconds"] = "2",
            ["DeepExtension:Deployment:StreamedUploadThresholdBytes"] = streamedFrom.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var service = host.Host.Services.GetRequiredService<DeploymentService>();

        var started = DateTime.UtcNow;
        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "stalled", OllamaQuantization.None));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var deployment = await WaitForAsync(service, submitted.Value!.Id, d => d.IsFinished);

        Assert.Equal(WorkStatus.Failed, deployment.Status);
        Assert.Matches(@"^The upload of \S+ to Ollama at http://127\.0\.0\.1:\d+ made no progress for 2 s \(no bytes accepted, no answer\); it was stopped", deployment.FailureReason);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60), "The stalled upload was not stopped promptly.");
        await WaitUntilAsync(() => ollama.StalledUploads.Count > 0); // Recorded once the connection closed.
        var stalled = Assert.Single(ollama.StalledUploads);
        Assert.True(stalled.ClientHungUp, "The console did not close the stalled upload.");
        Assert.Contains("made no progress for 2 s", string.Join("\n", service.ReadLog(deployment.Id).Select(l => l.Message)));
        Assert.Empty(ollama.CreateRequests);
        Assert.Empty(ollama.ModelNames);
    }

    [Fact]
    public async Task Deploy_CancelledWhileTheUploadStalls_StopsTheUploadEndsCancelledAndSaysWhatStaysOnTheServer()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        await using var host = await TrainingHost.StartAsync(env, new Dictionary<string, string?>
        {
            ["DeepExtension:Deployment:StallTimeoutSeconds"] = "600",
            ["DeepExtension:Deployment:StreamedUploadThresholdBytes"] = "0",
        });
        var service = host.Host.Services.GetRequiredService<DeploymentService>();
        // The small files (config, tokenizer) go through; the weights, uploaded after them, stall.
        ollama.StallBlobUploadsAfterBytes = 4096;
        ollama.StallOnlyBodiesOver = 100_000;

        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "cancelled", OllamaQuantization.None));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var id = submitted.Value!.Id;
        await WaitUntilAsync(() => (ollama.Requests.Count(r => r.StartsWith("POST /api/blobs/", StringComparison.Ordinal)) > ollama.Uploads.Count));
        await Task.Delay(1000); // Stalled for a while: nothing ends it but the cancel (the stall timeout is 10 minutes).
        var stuck = (await service.GetAsync(id))!;
        Assert.Equal(WorkStatus.Running, stuck.Status);
        Assert.StartsWith("Uploading model.safetensors", stuck.Stage);

        var cancelled = await service.CancelAsync(id);

        Assert.True(cancelled.Succeeded, cancelled.AllErrors);
        var deployment = await WaitForAsync(service, id, d => d.IsFinished, TimeSpan.FromSeconds(30));
        Assert.Equal(WorkStatus.Cancelled, deployment.Status);
        await WaitUntilAsync(() => ollama.StalledUploads.Count > 0);
        Assert.All(ollama.StalledUploads, u => Assert.True(u.ClientHungUp));
        Assert.Empty(ollama.CreateRequests);
        Assert.Empty(ollama.ModelNames);
        var log = service.ReadLog(id).Select(l => l.Message).ToList();
        Assert.Contains(log, m => m == "Cancelled; the upload was stopped.");
        Assert.NotEmpty(ollama.Uploads);
        Assert.Contains(log, m => m.StartsWith($"Ollama keeps the {ollama.Uploads.Count} file(s) already uploaded", StringComparison.Ordinal)
            && m.Contains("its API cannot delete them", StringComparison.Ordinal));
        // Cancelled is an end: it can be removed like a failed one.
        Assert.True((await service.RemoveAsync(id)).Succeeded);
    }

    [Fact]
    public async Task Cancel_QueuedDeployment_LeavesTheQueueAndEndsCancelled()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        // No scheduler: the deployment stays queued.
        await using var host = await TrainingHost.StartAsync(env, new Dictionary<string, string?> { ["DeepExtension:Scheduler:Enabled"] = "false" });
        var service = host.Host.Services.GetRequiredService<DeploymentService>();
        var queue = host.Host.Services.GetRequiredService<IWorkQueue>();
        var id = (await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "queued", OllamaQuantization.None))).Value!.Id;
        Assert.True(await queue.ContainsAsync(WorkKind.Deploy, id, CancellationToken.None));

        var cancelled = await service.CancelAsync(id);

        Assert.True(cancelled.Succeeded, cancelled.AllErrors);
        Assert.Equal(WorkStatus.Cancelled, cancelled.Value!.Status);
        Assert.False(await queue.ContainsAsync(WorkKind.Deploy, id, CancellationToken.None));
        Assert.False((await service.CancelAsync(id)).Succeeded); // Already ended.
    }

    private static async Task<ModelDeployment> WaitForAsync(DeploymentService service, Guid id, Func<ModelDeployment, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (true)
        {
            var deployment = await service.GetAsync(id);
            if (deployment is not null && condition(deployment)) return deployment;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Deployment {id}: {deployment?.Status} {deployment?.Stage} {deployment?.FailureReason}");
            await Task.Delay(100);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting.");
            await Task.Delay(50);
        }
    }
}
