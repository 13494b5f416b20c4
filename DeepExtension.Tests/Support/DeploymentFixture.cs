using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;

namespace DeepExtension.Tests.Support;

/// <summary>Complete models and environments for deployment tests.</summary>
public static class DeploymentFixture
{
    /// <summary>
    /// Registers the reference model as a base (with a deployment template) and a copy of its folder as a complete
    /// model whose card carries a training system prompt, as a finished save would leave it.
    /// </summary>
    public static async Task<CompleteModel> AddCompleteModelAsync(TestEnvironment env, string reference = "tiny-qwen2", string? systemPrompt = "Answer briefly.")
    {
        var path = env.AddModelFolder(reference);
        var created = await env.BaseModels.CreateAsync(new BaseModelInput(reference, reference, path, CustomizedModelFixture.ChatMlTemplate));
        Assert.True(created.Succeeded, created.AllErrors);
        var saveId = Guid.NewGuid();
        var name = CompleteModel.NameFor($"{reference}_support_20261122_ab12", saveId);
        var folder = Path.Combine(env.Directories.CompleteModels, name);
        TestEnvironment.CopyDirectory(ReferenceModels.BundledPathOf(reference), folder);
        Directory.Delete(Path.Combine(folder, "adapter"), recursive: true);
        var card = new JsonObject { ["training"] = new JsonObject { ["parameters"] = new JsonObject { ["system_prompt"] = systemPrompt } } };
        var model = new CompleteModel
        {
            Id = Guid.NewGuid(),
            Name = name,
            CustomizedModelName = $"{reference}_support_20261122_ab12",
            BaseModelId = created.Value!.Id,
            SaveId = saveId,
            Path = Path.Combine("complete-models", name),
            CardJson = card.ToJsonString(),
            SizeBytes = 1,
            CreatedAtUtc = DateTime.UtcNow,
        };
        await using var db = await env.DbFactory.CreateDbContextAsync();
        db.CompleteModels.Add(model);
        await db.SaveChangesAsync();
        return model;
    }

    public static async Task<DeploymentEnvironment> AddEnvironmentAsync(TestEnvironment env, string baseUrl, string name = "local")
    {
        var result = await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput(name, baseUrl, true));
        Assert.True(result.Succeeded, result.AllErrors);
        return result.Value!;
    }

    /// <summary>
    /// A complete model deployed to <paramref name="ollama"/> through the same steps the job takes (the job itself is
    /// tested end to end), with the job queue recorded.
    /// </summary>
    public static async Task<(DeploymentService Service, ModelDeployment Deployment)> DeployedAsync(
        TestEnvironment env, FakeOllamaServer ollama, DeploymentService? service = null, string name = "tiny:q8_0", string reference = "tiny-qwen2",
        Guid? environmentId = null)
    {
        var complete = await AddCompleteModelAsync(env, reference);
        var environment = environmentId ?? (await AddEnvironmentAsync(env, ollama.BaseUrl)).Id;
        service ??= env.CreateDeploymentService(new RecordingScheduler());
        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment, name, OllamaQuantization.Q8_0));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        var deployment = submitted.Value!;
        Assert.True(await service.MarkRunningAsync(deployment.Id));
        var folder = Path.Combine(env.Directories.Root, complete.Path);
        // As the job does: to the server URL the deployment keeps (credentials included).
        var size = await env.OllamaDeployer.DeployAsync(deployment.BaseUrl,
            new OllamaCreatePlan(deployment.OllamaModel, OllamaModelFiles.ModelFolder(folder), [], CustomizedModelFixture.ChatMlTemplate, deployment.SystemPrompt, [], "q8_0"),
            _ => Task.CompletedTask, CancellationToken.None);
        await service.SucceedAsync(deployment.Id, size);
        return (service, (await service.GetAsync(deployment.Id))!);
    }
}
