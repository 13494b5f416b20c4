using DeepExtension.Core.BaseModels;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Tests.Core;

public class BaseModelServiceTests
{
    [Fact]
    public async Task Create_TinyQwen2Folder_StoresTheCardInTheDatabase()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.AddModelFolder("tiny-qwen2");

        var result = await env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "Tiny Qwen2", path, null));

        Assert.True(result.Succeeded, result.AllErrors);
        var stored = Assert.Single(await env.BaseModels.ListAsync());
        Assert.Equal("tiny-qwen2", stored.TechnicalName);
        Assert.Equal("hf/tiny-qwen2", stored.RelativePath);
        Assert.Equal("Qwen2ForCausalLM", stored.Card.Architecture);
        Assert.Equal(2, stored.Card.NumLayers);
        Assert.Equal(4, stored.Card.NumAttentionHeads);
        Assert.Equal(2, stored.Card.NumKeyValueHeads);
        Assert.Equal(512, stored.Card.VocabSize);
    }

    [Fact]
    public async Task Create_NamesTakenInAnotherCase_AreRefusedAndNothingIsSaved()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var qwen = env.AddModelFolder("tiny-qwen2");
        var llama = env.AddModelFolder("tiny-llama");
        Assert.True((await env.BaseModels.CreateAsync(new BaseModelInput("tiny", "Tiny Model", qwen, null))).Succeeded);

        var result = await env.BaseModels.CreateAsync(new BaseModelInput("TINY", " tiny model ", llama, null));

        Assert.False(result.Succeeded);
        Assert.Contains("already used", string.Join(" ", result.ErrorsFor(BaseModelService.TechnicalNameField)));
        Assert.Contains("already used", string.Join(" ", result.ErrorsFor(BaseModelService.ModelNameField)));
        Assert.Single(await env.BaseModels.ListAsync());
    }

    [Fact]
    public async Task Create_EveryRuleBroken_ReportsEachFieldAndSavesNothing()
    {
        await using var env = await TestEnvironment.CreateAsync();

        var result = await env.BaseModels.CreateAsync(new BaseModelInput("bad name!", "", "../elsewhere", "{{ .Prompt"));

        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.ErrorsFor(BaseModelService.TechnicalNameField));
        Assert.NotEmpty(result.ErrorsFor(BaseModelService.ModelNameField));
        Assert.Contains("..", string.Join(" ", result.ErrorsFor(BaseModelService.PathField)));
        Assert.NotEmpty(result.ErrorsFor(BaseModelService.TemplateField));
        Assert.Empty(await env.BaseModels.ListAsync());
    }

    [Fact]
    public async Task Create_FolderWithoutWeights_ExplainsWhatIsMissing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.AddModelFolder("tiny-qwen2");
        File.Delete(Path.Combine(env.Directories.ModelsRoot, path, "model.safetensors"));

        var result = await env.BaseModels.CreateAsync(new BaseModelInput("q", "Q", path, null));

        // The folder still holds reference.safetensors, which is not a weights file a model can be loaded from.
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json", string.Join(" ", result.ErrorsFor(BaseModelService.PathField)));
    }

    [Fact]
    public async Task Create_WeightsLinkedFromOutsideTheRoot_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.AddModelFolder("tiny-qwen2");
        var folder = Path.Combine(env.Directories.ModelsRoot, path);
        var outside = Path.Combine(env.DataRoot, "outside.safetensors");
        File.Move(Path.Combine(folder, "model.safetensors"), outside);
        File.CreateSymbolicLink(Path.Combine(folder, "model.safetensors"), outside);

        var result = await env.BaseModels.CreateAsync(new BaseModelInput("q", "Q", path, null));

        Assert.Contains("outside the models root", string.Join(" ", result.ErrorsFor(BaseModelService.PathField)));
        Assert.Empty(await env.BaseModels.ListAsync());
    }

    [Fact]
    public async Task Update_ChangesNamesAndTemplate_KeepsItsOwnNamesAvailable()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.AddModelFolder("tiny-qwen2");
        var created = (await env.BaseModels.CreateAsync(new BaseModelInput("q", "Q", path, null))).Value!;

        var result = await env.BaseModels.UpdateAsync(created.Id, new BaseModelInput("Q", "Q renamed", path, "{{ .Prompt }}"));

        Assert.True(result.Succeeded, result.AllErrors);
        var stored = await env.BaseModels.GetAsync(created.Id);
        Assert.Equal("Q", stored!.TechnicalName);
        Assert.Equal("Q renamed", stored.ModelName);
        Assert.Equal("{{ .Prompt }}", stored.DeploymentTemplate);
    }

    [Fact]
    public async Task Delete_RegisteredModel_RemovesTheRowButNotTheFiles()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.AddModelFolder("tiny-qwen2");
        var created = (await env.BaseModels.CreateAsync(new BaseModelInput("q", "Q", path, null))).Value!;

        Assert.True((await env.BaseModels.DeleteAsync(created.Id)).Value);

        Assert.Empty(await env.BaseModels.ListAsync());
        Assert.True(File.Exists(Path.Combine(env.Directories.ModelsRoot, path, "config.json")));
        Assert.False((await env.BaseModels.DeleteAsync(created.Id)).Value);
    }

    [Fact]
    public async Task UniqueIndexes_DuplicateKeyWrittenDirectly_AreRejectedByTheDatabase()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var path = env.AddModelFolder("tiny-qwen2");
        var created = (await env.BaseModels.CreateAsync(new BaseModelInput("q", "Q", path, null))).Value!;

        await using var db = await env.DbFactory.CreateDbContextAsync();
        db.BaseModels.Add(new BaseModel
        {
            Id = Guid.NewGuid(), TechnicalName = "q", TechnicalNameKey = created.TechnicalNameKey,
            ModelName = "other", ModelNameKey = "OTHER", RelativePath = path, Card = created.Card,
        });

        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
    }
}
