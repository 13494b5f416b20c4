using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Tests.CompleteModels;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, faults 4 and 6: a base model's path under its dependents, the path rule checked again whenever a
/// registered folder is used, and a complete model not deleted under the work that reads it.
/// </summary>
[Collection(TorchCollection.Name)]
public class ModelDependencyFaultTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ChangePath_BaseModelWithTrainsAndModels_IsRefusedNamingHowManyDependOnItAndNamesStayEditable()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var saves = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        await ModelSavingTests.RegisterFakeMergeAsync(env, saves, customized);
        var model = (await env.BaseModels.GetAsync(customized.BaseModelId))!;
        var other = env.AddModelFolder("tiny-llama");

        var refused = await env.BaseModels.UpdateAsync(model.Id, new BaseModelInput(model.TechnicalName, model.ModelName, other, null));

        Assert.False(refused.Succeeded);
        var message = Assert.Single(refused.ErrorsFor(BaseModelService.PathField));
        Assert.Contains($"The path of {model.TechnicalName} cannot be changed while 1 train(s), 1 customized model(s) and 1 complete model(s) depend on it", message);
        Assert.Contains("Register the other folder as a new base model instead", message);
        Assert.Equal(model.RelativePath, (await env.BaseModels.GetAsync(model.Id))!.RelativePath);

        var renamed = await env.BaseModels.UpdateAsync(model.Id, new BaseModelInput("renamed", "Renamed", model.RelativePath, CustomizedModelFixture.ChatMlTemplate));
        Assert.True(renamed.Succeeded, renamed.AllErrors);
        Assert.Equal("renamed", (await env.BaseModels.GetAsync(model.Id))!.TechnicalName);
    }

    [Fact]
    public async Task ChangePath_ByteIdenticalWeightsInAnotherFolder_IsAllowedButOneChangedByteIsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var model = (await env.BaseModels.GetAsync(customized.BaseModelId))!;
        var copy = env.AddModelFolder("tiny-qwen2", "moved/tiny-qwen2");
        var altered = env.AddModelFolder("tiny-qwen2", "altered/tiny-qwen2");
        using (var weights = File.Open(Path.Combine(env.Directories.ModelsRoot, altered, "model.safetensors"), FileMode.Open, FileAccess.ReadWrite))
        {
            // Same size, same header, one byte of the last tensor flipped: shapes match, so only the hash can tell.
            weights.Seek(-1, SeekOrigin.End);
            var last = weights.ReadByte();
            weights.Seek(-1, SeekOrigin.End);
            weights.WriteByte((byte)(last ^ 0x01));
        }

        var refused = await env.BaseModels.UpdateAsync(model.Id, new BaseModelInput(model.TechnicalName, model.ModelName, altered, null));
        var moved = await env.BaseModels.UpdateAsync(model.Id, new BaseModelInput(model.TechnicalName, model.ModelName, copy, null));

        Assert.False(refused.Succeeded);
        Assert.Contains("model.safetensors has other contents (SHA-256)", refused.AllErrors);
        Assert.Contains("1 train(s) and 1 customized model(s) depend on it", refused.AllErrors);
        Assert.True(moved.Succeeded, moved.AllErrors);
        Assert.Equal("moved/tiny-qwen2", (await env.BaseModels.GetAsync(model.Id))!.RelativePath);
    }

    [OuterTier("starts the console host")]
    [Fact]
    public async Task ChangePath_ThroughTheApi_AnswersAProblemWithTheServicesMessage()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        await using var host = ConsoleHost.Start(env.DataRoot);
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var model = (await env.BaseModels.GetAsync(customized.BaseModelId))!;
        var other = env.AddModelFolder("tiny-llama");
        using var client = await AdminClientAsync(host);

        using var response = await client.PutAsJsonAsync($"/api/v1/base-models/{model.Id}",
            new { technicalName = model.TechnicalName, modelName = model.ModelName, path = other });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var message = problem.GetProperty("errors").GetProperty(BaseModelService.PathField)[0].GetString();
        var expected = Assert.Single((await env.BaseModels.UpdateAsync(model.Id, new BaseModelInput(model.TechnicalName, model.ModelName, other, null)))
            .ErrorsFor(BaseModelService.PathField));
        Assert.Equal(expected, message);
        Assert.Contains("1 train(s) and 1 customized model(s) depend on it", message);
        Assert.Equal(model.RelativePath, (await env.BaseModels.GetAsync(model.Id))!.RelativePath);
    }

    [Fact]
    public async Task RegisteredFolderReplacedByALinkOutsideTheRoot_TrainSaveDeployEvaluationAndLoadAreRefusedWithTheReason()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env, deploymentTemplate: CustomizedModelFixture.ChatMlTemplate);
        var model = (await env.BaseModels.GetAsync(customized.BaseModelId))!;
        TrainingRun earlier;
        await using (var db = await env.DbFactory.CreateDbContextAsync()) earlier = await db.TrainingRuns.AsNoTracking().SingleAsync();
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        ReplaceByLinkOutsideTheRoot(env, model.RelativePath);
        const string reason = "cannot be used: The model path is a symbolic link that leads outside the models root.";

        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var train = await runs.StartAsync(new NewTrainRequest("after-link", model.Id, earlier.DatasetVersionId, earlier.MethodId,
            new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 }, "cpu"));
        var resume = await runs.ResumeAsync(earlier.Id);
        var saves = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var save = await saves.SaveAsync(customized.Id);
        var deployments = env.CreateDeploymentService(new RecordingScheduler());
        var (source, deployError) = await deployments.ResolveSourceAsync(DeploymentSourceKind.Customized, customized.Id);
        var evaluation = await new EvaluationService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System)
            .StartAsync(new EvaluationRequest([new ModelReference(EvaluatedModelKind.Base, model.Id), new ModelReference(EvaluatedModelKind.Customized, customized.Id)],
                earlier.DatasetVersionId, DatasetPart.All));

        Assert.Contains(reason, string.Join(" ", train.ErrorsFor(TrainingRunService.BaseModelField)));
        Assert.Contains(reason, resume.AllErrors);
        Assert.Contains(reason, save.AllErrors);
        Assert.Contains(reason, string.Join(" ", evaluation.ErrorsFor(EvaluationService.ModelsField)));
        Assert.Null(source);
        Assert.Contains(reason, deployError);
        // What a worker calls to load the folder (train, merge, evaluate).
        Assert.Contains(reason, Assert.Throws<ModelFolderException>(() => env.BaseModels.FolderOf(model)).Message);
        Assert.Contains(reason, (await env.CreateDeploymentService(new RecordingScheduler()).DeployAsync(
            new DeployRequest(DeploymentSourceKind.Customized, customized.Id, environment.Id, "after-link", OllamaQuantization.None))).AllErrors);
        Assert.Single(await runs.ListAsync());
        Assert.Empty(await saves.ListSavesAsync());
    }

    [OuterTier("starts the scheduler host, which runs work in worker processes")]
    [Fact]
    public async Task TrainWorker_FolderReplacedByALinkAfterTheTrainWasQueued_FailsWithTheReasonWithoutTraining()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), DeepExtension.Core.Training.TrainingAlgorithm.Sft);
        var queued = await new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System)
            .StartAsync(new NewTrainRequest("queued-before-link", model.Id, version.Id, method.Id, new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(queued.Succeeded, queued.AllErrors);
        ReplaceByLinkOutsideTheRoot(env, model.RelativePath);

        // The console restarts with the run Queued: it is queued again and its worker resolves the folder itself.
        await using var host = await TrainingHost.StartAsync(env);
        var deadline = DateTime.UtcNow + Timeout;
        TrainingRun run;
        while (!(run = (await host.Runs.GetAsync(queued.Value!.Id))!).IsFinished && DateTime.UtcNow < deadline) await Task.Delay(200);

        Assert.Equal(WorkStatus.Failed, run.Status);
        Assert.Contains("symbolic link that leads outside the models root", run.FailureReason);
        Assert.Equal(0, run.Step);
    }

    [Fact]
    public async Task DeleteCompleteModel_DeploymentOfItQueued_IsRefusedNamingTheDeploymentAndKeepsTheFolder()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var deployments = env.CreateDeploymentService(new RecordingScheduler());
        var deployment = await deployments.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "busy", OllamaQuantization.None));
        Assert.True(deployment.Succeeded, deployment.AllErrors);
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);

        var refused = await service.DeleteAsync(complete.Id);

        Assert.False(refused.Succeeded);
        Assert.Contains($"{complete.Name} cannot be deleted while the queued deployment {deployment.Value!.OllamaModel} to {environment.Name} uses it; cancel it or wait until it has finished.", refused.AllErrors);
        Assert.True(Directory.Exists(service.FolderOf(complete)));
        Assert.NotNull(await service.GetAsync(complete.Id));

        await deployments.FailAsync(deployment.Value.Id, "Stopped for the test.");
        Assert.True((await service.DeleteAsync(complete.Id)).Succeeded);
        Assert.False(Directory.Exists(service.FolderOf(complete)));
    }

    /// <summary>The fault as found: the registered folder moved out of the models root and a link left in its place.</summary>
    private static void ReplaceByLinkOutsideTheRoot(TestEnvironment env, string relativePath)
    {
        var folder = Path.Combine(env.Directories.ModelsRoot, relativePath);
        var outside = Path.Combine(env.DataRoot, "outside-the-models-root", Path.GetFileName(folder));
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        Directory.Move(folder, outside);
        Directory.CreateSymbolicLink(folder, outside);
    }

    private static async Task<HttpClient> AdminClientAsync(ConsoleHost host)
    {
        using var anonymous = host.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "faults", expiresInDays = 1 }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestAccount.Admin.Email}:{TestAccount.Admin.Password}")));
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        var client = host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
