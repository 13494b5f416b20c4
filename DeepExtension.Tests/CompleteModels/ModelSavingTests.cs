using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Tests.CompleteModels;

/// <summary>Saving a customized model, naming, and what deleting either kind of model removes (no worker processes).</summary>
public class ModelSavingTests
{
    [Fact]
    public void CompleteModelName_SavingUuid_IsCustomizedNameThenSThenFirstFourHexDigits()
    {
        var saveId = Guid.Parse("3f9a1c2e-0000-4000-8000-000000000000");

        Assert.Equal("tiny-qwen2_plus-one_20261122_ab12_s_3f9a", CompleteModel.NameFor("tiny-qwen2_plus-one_20261122_ab12", saveId));
    }

    [Fact]
    public async Task PlanSave_CustomizedModel_GeneratesNameFromARandomV4UuidAndNoQuantization()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);

        var plan = (await service.PlanSaveAsync(customized.Id)).Value!;

        Assert.Equal(4, plan.SaveId.Version);
        Assert.Equal($"{customized.Name}_s_{plan.SaveId.ToString("N")[..4]}", plan.OutputName);
        Assert.Matches(@"^tiny-qwen2_plus-one_\d{8}_[0-9a-f]{4}_s_[0-9a-f]{4}$", plan.OutputName);
        Assert.Equal(Path.Combine("complete-models", plan.OutputName), plan.OutputFolder);
        Assert.Equal(CompleteModelService.NoQuantization, plan.Quantization);
    }

    [Fact]
    public async Task SaveAsync_ConfirmedPlan_RecordsQueuedSaveAndQueuesItsJob()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var scheduler = new RecordingScheduler();
        var service = new CompleteModelService(env.DbFactory, env.Directories, scheduler, TimeProvider.System);
        var plan = (await service.PlanSaveAsync(customized.Id)).Value!;

        var save = await service.SaveAsync(plan);

        Assert.True(save.Succeeded, save.AllErrors);
        Assert.Equal([plan.SaveId], scheduler.Queued);
        var stored = (await service.GetSaveAsync(plan.SaveId))!;
        Assert.Equal(WorkStatus.Queued, stored.Status);
        Assert.Equal(plan.OutputName, stored.OutputName);
        Assert.False((await service.SaveAsync(plan)).Succeeded);
    }

    [Fact]
    public async Task DeleteCustomizedModel_SaveQueued_RefusesAndKeepsTheAdapter()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var save = (await service.SaveAsync(customized.Id)).Value!;
        var customizedModels = new CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System);

        var result = await customizedModels.DeleteAsync(customized.Id);

        Assert.False(result.Succeeded);
        Assert.Contains("being saved", result.AllErrors);
        Assert.Contains(save.OutputName, result.AllErrors);
        Assert.True(Directory.Exists(customizedModels.FolderOf(customized)));
        Assert.NotNull(await customizedModels.GetAsync(customized.Id));
    }

    [Fact]
    public async Task DeleteCustomizedModel_AlreadySaved_RemovesOnlyTheAdapterAndKeepsTheCompleteModel()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var complete = await RegisterFakeMergeAsync(env, service, customized);
        var customizedModels = new CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System);

        var result = await customizedModels.DeleteAsync(customized.Id);

        Assert.True(result.Succeeded, result.AllErrors);
        Assert.False(Directory.Exists(customizedModels.FolderOf(customized)));
        Assert.Null(await customizedModels.GetAsync(customized.Id));
        var kept = (await service.GetAsync(complete.Id))!;
        Assert.Null(kept.CustomizedModelId);
        Assert.Equal(customized.Name, kept.CustomizedModelName);
        Assert.True(File.Exists(Path.Combine(service.FolderOf(kept), "config.json")));
    }

    [Fact]
    public async Task DeleteCompleteModel_Registered_RemovesItsFolderAndEntry()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var complete = await RegisterFakeMergeAsync(env, service, customized);

        var result = await service.DeleteAsync(complete.Id);

        Assert.True(result.Succeeded, result.AllErrors);
        Assert.False(Directory.Exists(service.FolderOf(complete)));
        Assert.Empty(await service.ListAsync());
        Assert.True(Directory.Exists(new CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System).FolderOf(customized)));
    }

    [Fact]
    public async Task RegisterAsync_MergedFolder_CardCombinesBaseModelCardAndTrainingCard()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);

        var complete = await RegisterFakeMergeAsync(env, service, customized);

        var card = System.Text.Json.Nodes.JsonNode.Parse(complete.CardJson)!;
        Assert.Equal("tiny-qwen2", (string?)card["base_model"]!["technical_name"]);
        Assert.NotNull(card["base_model"]!["card"]);
        Assert.Equal("plus-one", (string?)card["training"]!["train"]!["name"]);
        Assert.Equal("none", (string?)card["quantization"]);
        Assert.True(complete.SizeBytes > 0);
        var save = (await service.GetSaveAsync(complete.SaveId))!;
        Assert.Equal(WorkStatus.Succeeded, save.Status);
        Assert.Equal(complete.Id, save.CompleteModelId);
    }

    [Fact]
    public async Task RegisterAsync_ShardedBaseMergedIntoOneFile_CardCountsTheMergedFoldersOwnFiles()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        // As a base downloaded in two shards: its card counts two files; the merge writes one.
        await using (var db = await env.DbFactory.CreateDbContextAsync())
        {
            var baseModel = await db.BaseModels.SingleAsync(m => m.Id == customized.BaseModelId);
            baseModel.Card = baseModel.Card with { WeightFileCount = 2 };
            await db.SaveChangesAsync();
        }
        var service = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);

        var complete = await RegisterFakeMergeAsync(env, service, customized);

        var sections = DeepExtension.Web.Components.Controls.CardFacts.OfCompleteCard(System.Text.Json.Nodes.JsonNode.Parse(complete.CardJson)!.AsObject());
        var weights = sections.Single(s => s.Title == "Weights").Facts.ToDictionary(f => f.Label, f => f.Text);
        Assert.Equal("1 safetensors file", weights["Files"]);
    }

    /// <summary>A queued save whose output folder is written by hand (a copy of the base model) and then registered.</summary>
    internal static async Task<CompleteModel> RegisterFakeMergeAsync(TestEnvironment env, CompleteModelService service, CustomizedModel customized)
    {
        var save = (await service.SaveAsync(customized.Id)).Value!;
        Assert.True(await service.MarkRunningAsync(save.Id));
        TestEnvironment.CopyDirectory(ReferenceModels.BundledPathOf("tiny-qwen2"), Path.Combine(env.Directories.CompleteModels, save.OutputName));
        return await service.RegisterAsync(save.Id);
    }
}
