using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Deployment;

/// <summary>Deployments through the Quartz job store, the real job (and merge worker process) and the fake Ollama.</summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public class DeploymentEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Deploy_CustomizedQwen2_MergesFirstThenCreatesFromTheMergedWeightsWithoutAdapters()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env, deploymentTemplate: CustomizedModelFixture.ChatMlTemplate, systemPrompt: "Be kind.");
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        await using var host = await TrainingHost.StartAsync(env);
        var service = host.Host.Services.GetRequiredService<DeploymentService>();

        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Customized, customized.Id, environment.Id, "kind:q4_k_m", OllamaQuantization.Q4_K_M));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var deployment = await WaitForAsync(service, submitted.Value!.Id);

        Assert.True(deployment.Status == WorkStatus.Succeeded, deployment.FailureReason);
        Assert.True(deployment.MergesFirst);
        Assert.True(deployment.SizeBytes > 0);
        var create = Assert.Single(ollama.CreateRequests);
        Assert.Null(create["adapters"]);
        Assert.Equal("Be kind.", create["system"]!.GetValue<string>());
        Assert.Equal("q4_K_M", create["quantize"]!.GetValue<string>());
        var baseWeights = await OllamaDeployer.DigestOfAsync(Path.Combine(ReferenceModels.BundledPathOf("tiny-qwen2"), "model.safetensors"), CancellationToken.None);
        Assert.NotEqual(baseWeights, create["files"]!["model.safetensors"]!.GetValue<string>());
        Assert.Contains("kind:q4_k_m", ollama.ModelNames);
        var folder = service.FolderOf(deployment.Id);
        Assert.False(Directory.Exists(Path.Combine(folder, "merged")));
        Assert.True(File.Exists(Path.Combine(folder, "deploy.log.jsonl")));
        Assert.False(File.Exists(Path.Combine(folder, "train.log.jsonl")));
        var log = service.ReadLog(deployment.Id).Select(l => l.Message).ToList();
        Assert.Contains(log, m => m.StartsWith("Merging the adapter into tiny-qwen2", StringComparison.Ordinal));
        Assert.Contains(log, m => m == "Ollama: success");
    }

    [Fact]
    public async Task Deploy_CustomizedLlama_UploadsBaseAndAdapterWithoutMerging()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env, reference: "tiny-llama", deploymentTemplate: CustomizedModelFixture.ChatMlTemplate);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        await using var host = await TrainingHost.StartAsync(env);
        var service = host.Host.Services.GetRequiredService<DeploymentService>();

        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Customized, customized.Id, environment.Id, "llama-adapter", OllamaQuantization.None));
        var deployment = await WaitForAsync(service, submitted.Value!.Id);

        Assert.True(deployment.Status == WorkStatus.Succeeded, deployment.FailureReason);
        Assert.False(deployment.MergesFirst);
        var create = Assert.Single(ollama.CreateRequests);
        var baseWeights = await OllamaDeployer.DigestOfAsync(Path.Combine(ReferenceModels.BundledPathOf("tiny-llama"), "model.safetensors"), CancellationToken.None);
        Assert.Equal(baseWeights, create["files"]!["model.safetensors"]!.GetValue<string>());
        var adapterWeights = await OllamaDeployer.DigestOfAsync(Path.Combine(env.Directories.Root, customized.AdapterPath, "adapter_model.safetensors"), CancellationToken.None);
        Assert.Equal(adapterWeights, create["adapters"]!["adapter_model.safetensors"]!.GetValue<string>());
        Assert.Null(create["quantize"]);
        Assert.Null(create["system"]);
    }

    [Fact]
    public async Task Deploy_OllamaFailsDuringCreate_EndsFailedWithOllamasMessageAndNoModel()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.FailNextCreateWith = "insufficient disk space";
        await using var host = await TrainingHost.StartAsync(env);

        var (service, deployment) = await DeployCompleteModelAsync(env, ollama, host);

        Assert.Equal(WorkStatus.Failed, deployment.Status);
        Assert.Contains("insufficient disk space", deployment.FailureReason);
        Assert.Empty(ollama.ModelNames);
        Assert.Equal(LiveAvailability.NotDeployed, (await service.GetLiveStatesAsync([deployment]))[deployment.Id].Availability);
        // The job's cleanup probe asked Ollama once; removing a failed deployment does not ask again.
        Assert.True((await service.RemoveAsync(deployment.Id)).Succeeded);
        Assert.Single(ollama.Requests, r => r == "DELETE /api/delete");
        Assert.Empty(await service.ListAsync());
    }

    [Fact]
    public async Task Deploy_OllamaFailsAfterWritingTheModel_TheHalfCreatedModelIsRemoved()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.FailNextCreateAfterWritingWith = "error writing manifest";
        await using var host = await TrainingHost.StartAsync(env);

        var (_, deployment) = await DeployCompleteModelAsync(env, ollama, host);

        Assert.Equal(WorkStatus.Failed, deployment.Status);
        Assert.Contains("error writing manifest", deployment.FailureReason);
        Assert.Empty(ollama.ModelNames);
        Assert.Contains("DELETE /api/delete", ollama.Requests);
    }

    [Fact]
    public async Task Deploy_ConsoleStopsMidCreate_QueuedAgainAndFinishesAfterTheNextStart()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.CreateLineDelay = TimeSpan.FromSeconds(1);
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        Guid id;
        await using (var first = await TrainingHost.StartAsync(env))
        {
            var service = first.Host.Services.GetRequiredService<DeploymentService>();
            id = (await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny", OllamaQuantization.None))).Value!.Id;
            var deadline = DateTime.UtcNow + Timeout;
            while ((await service.GetAsync(id))!.Stage?.StartsWith("Ollama:", StringComparison.Ordinal) != true && DateTime.UtcNow < deadline) await Task.Delay(50);
            await first.StopAsync();
            var interrupted = (await service.GetAsync(id))!;
            Assert.Equal(WorkStatus.Queued, interrupted.Status);
            Assert.Contains("Interrupted", interrupted.Stage);
        }
        var uploadsBefore = ollama.Uploads.Count;
        ollama.CreateLineDelay = TimeSpan.Zero;

        await using var second = await TrainingHost.StartAsync(env);
        var deployment = await WaitForAsync(second.Host.Services.GetRequiredService<DeploymentService>(), id);

        Assert.True(deployment.Status == WorkStatus.Succeeded, deployment.FailureReason);
        Assert.Contains("tiny:latest", ollama.ModelNames);
        Assert.Equal(uploadsBefore, ollama.Uploads.Count);
    }

    /// <summary>Deploys a complete model of tiny-qwen2 as "tiny" through the host's job and waits for the outcome.</summary>
    private static async Task<(DeploymentService, ModelDeployment)> DeployCompleteModelAsync(TestEnvironment env, FakeOllamaServer ollama, TrainingHost host)
    {
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var service = host.Host.Services.GetRequiredService<DeploymentService>();
        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny", OllamaQuantization.None));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        return (service, await WaitForAsync(service, submitted.Value!.Id));
    }

    private static async Task<ModelDeployment> WaitForAsync(DeploymentService service, Guid id)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var deployment = await service.GetAsync(id);
            if (deployment is { IsFinished: true }) return deployment;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Deployment {id} did not finish: {deployment?.Status} {deployment?.Stage}");
            await Task.Delay(100);
        }
    }
}
