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
}
