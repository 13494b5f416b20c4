using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Deployment;

/// <summary>Deploy checks, records and removal against the fake Ollama server, with the job queue recorded.</summary>
public class DeploymentServiceTests
{
    [Fact]
    public async Task PlanAsync_BaseModelWithoutTemplate_FailsWithWhatToDo()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var service = env.CreateDeploymentService(new RecordingScheduler());

        var plan = await service.PlanAsync(DeploymentSourceKind.Customized, customized.Id);

        Assert.False(plan.Succeeded);
        Assert.Contains("tiny-qwen2 has no Deployment Template File", plan.AllErrors);
        Assert.Contains("Base Models page", plan.AllErrors);
    }

    [Fact]
    public async Task PlanAsync_CustomizedQwen2_MergesFirstWithTheTrainingSystemPromptAndStops()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env, deploymentTemplate: CustomizedModelFixture.ChatMlTemplate, systemPrompt: "Be kind.");
        var service = env.CreateDeploymentService(new RecordingScheduler());

        var plan = (await service.PlanAsync(DeploymentSourceKind.Customized, customized.Id)).Value!;

        Assert.True(plan.MergesFirst);
        Assert.Equal("qwen2", plan.Architecture);
        Assert.Equal("Be kind.", plan.SystemPrompt);
        Assert.Equal(["<|im_end|>"], plan.Stops);
        Assert.Equal(CustomizedModelFixture.ChatMlTemplate, plan.Template);
        Assert.Equal(customized.Name.ToLowerInvariant() + ":latest", plan.DefaultModelName);
    }

    [Fact]
    public async Task PlanAsync_CustomizedLlama_UploadsTheAdapterWithoutMerging()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env, reference: "tiny-llama", deploymentTemplate: CustomizedModelFixture.ChatMlTemplate);
        var service = env.CreateDeploymentService(new RecordingScheduler());

        var plan = (await service.PlanAsync(DeploymentSourceKind.Customized, customized.Id)).Value!;

        Assert.False(plan.MergesFirst);
        Assert.Null(plan.SystemPrompt);
    }

    [Fact]
    public async Task DeployAsync_OllamaUnreachable_FailsOnTheEnvironmentAndCreatesNothing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, $"http://127.0.0.1:{TestPorts.FreeLoopbackPort()}");
        var scheduler = new RecordingScheduler();
        var service = env.CreateDeploymentService(scheduler);

        var result = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny", OllamaQuantization.Q8_0));

        Assert.False(result.Succeeded);
        Assert.Contains("Could not reach Ollama", string.Join(" ", result.ErrorsFor(DeploymentService.EnvironmentField)));
        Assert.Contains("Nothing was deployed.", result.AllErrors);
        Assert.Empty(await service.ListAsync());
        Assert.Empty(scheduler.Queued);
    }

    [Fact]
    public async Task DeployAsync_NameAlreadyInOllama_FailsOnTheNameWithoutTouchingTheServer()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.AddExistingModel("tiny:latest");
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var service = env.CreateDeploymentService(new RecordingScheduler());

        var result = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "Tiny", OllamaQuantization.None));

        Assert.Contains("already has a model named Tiny", string.Join(" ", result.ErrorsFor(DeploymentService.NameField)));
        Assert.Empty(ollama.Uploads);
        Assert.Empty(ollama.CreateRequests);
        Assert.Empty(await service.ListAsync());
    }

    [Fact]
    public async Task DeployAsync_BadNameAndQuantization_FieldErrors()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var service = env.CreateDeploymentService(new RecordingScheduler());

        var result = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "no spaces", "q2_K"));

        Assert.NotEmpty(result.ErrorsFor(DeploymentService.NameField));
        Assert.Contains("no_quantization, q8_0, q4_K_M, q4_K_S", string.Join(" ", result.ErrorsFor(DeploymentService.QuantizationField)));
    }

    [Fact]
    public async Task DeployAsync_Valid_RecordsAQueuedDeploymentWithItsSourceAndQueuesItsJob()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl, "gpu-box");
        var scheduler = new RecordingScheduler();
        var service = env.CreateDeploymentService(scheduler);

        var result = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny:q8_0", OllamaQuantization.Q8_0));

        Assert.True(result.Succeeded, result.AllErrors);
        var deployment = Assert.Single(await service.ListAsync());
        Assert.Equal([deployment.Id], scheduler.Queued);
        Assert.Equal(WorkStatus.Queued, deployment.Status);
        Assert.Equal("tiny:q8_0", deployment.OllamaModel);
        Assert.Equal(complete.Name, deployment.SourceModelName);
        Assert.Equal("tiny-qwen2", deployment.BaseModelName);
        Assert.Equal("gpu-box", deployment.EnvironmentName);
        Assert.Equal(ollama.BaseUrl, deployment.BaseUrl);
        Assert.Equal("Answer briefly.", deployment.SystemPrompt);
        Assert.False(deployment.MergesFirst);

        var again = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "TINY:q8_0", OllamaQuantization.Q8_0));
        Assert.Contains("already deployed to gpu-box", string.Join(" ", again.ErrorsFor(DeploymentService.NameField)));
    }

    [Fact]
    public async Task DeployAsync_JobStoreDown_EndsFailedWithTheReason()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var service = env.CreateDeploymentService(new RecordingScheduler { Failure = new InvalidOperationException("store offline") });

        var result = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny", OllamaQuantization.None));

        Assert.Contains("could not be queued: store offline", result.AllErrors);
        var deployment = Assert.Single(await service.ListAsync());
        Assert.Equal(WorkStatus.Failed, deployment.Status);
    }

    [Fact]
    public async Task RemoveAsync_Deployed_DeletesTheModelInOllamaAndTheEntry()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);

        var removed = await service.RemoveAsync(deployment.Id);

        Assert.True(removed.Succeeded, removed.AllErrors);
        Assert.Empty(ollama.ModelNames);
        Assert.Empty(await service.ListAsync());
        Assert.Contains("DELETE /api/delete", ollama.Requests);
    }

    [Fact]
    public async Task RemoveAsync_ModelAlreadyGoneFromOllama_RemovesTheEntry()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);
        ollama.RemoveModel(deployment.OllamaModel);

        Assert.True((await service.RemoveAsync(deployment.Id)).Succeeded);
        Assert.Empty(await service.ListAsync());
    }

    [Fact]
    public async Task RemoveAsync_OllamaUnreachable_KeepsTheEntryAndSaysSo()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);
        await ollama.DisposeAsync();

        var removed = await service.RemoveAsync(deployment.Id);

        Assert.False(removed.Succeeded);
        Assert.Contains("could not delete", removed.AllErrors);
        Assert.Contains("The deployment was kept.", removed.AllErrors);
        Assert.Single(await service.ListAsync());
    }

    [Fact]
    public async Task RemoveAsync_StillQueued_Refused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var service = env.CreateDeploymentService(new RecordingScheduler());
        var deployment = (await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny", OllamaQuantization.None))).Value!;

        var removed = await service.RemoveAsync(deployment.Id);

        Assert.Contains("still being deployed", removed.AllErrors);
        Assert.Single(await service.ListAsync());
    }

    [Fact]
    public async Task GetLiveStatesAsync_TagsAndPs_AvailableThenLoadedThenMissing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);

        var available = (await service.GetLiveStatesAsync([deployment]))[deployment.Id];
        Assert.Equal(LiveAvailability.Available, available.Availability);
        Assert.True(available.SizeBytes > 0);
        Assert.Equal("Q8_0", available.QuantizationLevel);

        var answer = string.Concat(await service.ChatAsync(deployment.Id, [new ChatTurn("user", "hello there")]).ToListAsync());
        Assert.Equal("[Answer briefly.] You said: hello there", answer);
        var loaded = (await service.GetLiveStatesAsync([deployment]))[deployment.Id];
        Assert.Equal(LiveAvailability.Loaded, loaded.Availability);
        Assert.NotNull(loaded.VramBytes);

        ollama.RemoveModel(deployment.OllamaModel);
        Assert.Equal(LiveAvailability.Missing, (await service.GetLiveStatesAsync([deployment]))[deployment.Id].Availability);
    }

    [Fact]
    public async Task GetLiveStatesAsync_ServerDown_Unreachable()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);
        await ollama.DisposeAsync();

        var state = (await service.GetLiveStatesAsync([deployment]))[deployment.Id];

        Assert.Equal(LiveAvailability.Unreachable, state.Availability);
        Assert.Contains(deployment.BaseUrl, state.Detail);
    }

    [Fact]
    public async Task CompleteModelDelete_DeployedModel_DeploymentStays()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);
        var completeModels = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);

        Assert.True((await completeModels.DeleteAsync(deployment.SourceModelId)).Succeeded);

        Assert.Equal(deployment.Id, Assert.Single(await service.ListAsync()).Id);
        Assert.Contains(OllamaModelName.Normalize(deployment.OllamaModel), ollama.ModelNames);
        Assert.Equal(LiveAvailability.Available, (await service.GetLiveStatesAsync([deployment]))[deployment.Id].Availability);
    }
}
