using System.Text.Json.Nodes;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Core;

public class TrainingMethodServiceTests
{
    [Fact]
    public async Task List_FreshDatabase_HasTheFourBuiltInMethodsInAlgorithmOrder()
    {
        await using var env = await TestEnvironment.CreateAsync();

        var methods = await env.TrainingMethods.ListAsync();

        Assert.Equal(["SFT (LoRA)", "DPO", "GRPO", "PPO"], methods.Select(m => m.Name));
        Assert.All(methods, m => Assert.True(m.IsBuiltIn));
        Assert.Equal([true, true, true, true], methods.Select(m => m.Definition.IsImplemented));
        Assert.All(methods, m => Assert.Null(m.Definition.NotStartableReason));
        // PPO scores completions with GRPO's reward functions; earlier versions described a reward model it never had.
        var ppo = methods.Single(m => m.Name == "PPO");
        Assert.DoesNotContain("reward model", ppo.Description, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("reward functions", ppo.Description);
    }

    [Fact]
    public async Task CreatePreset_ValuesDifferingFromDefaults_StoresOnlyTheOverrides()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var values = new TrainingMethod { Name = "", Algorithm = TrainingAlgorithm.Sft }.ResolvedDefaults();
        values["learning_rate"] = 1e-4;
        values["lora_r"] = 64;

        var result = await env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("SFT r64", TrainingAlgorithm.Sft, "wide adapter", values));

        Assert.True(result.Succeeded, result.AllErrors);
        var stored = await env.TrainingMethods.GetAsync(result.Value!.Id);
        Assert.Equal(["learning_rate", "lora_r"], stored!.Defaults.Select(p => p.Key).Order());
        Assert.Equal(64, stored.ResolvedDefaults()["lora_r"]!.GetValue<int>());
        Assert.Equal(3, stored.ResolvedDefaults()["num_epochs"]!.GetValue<int>());
        Assert.False(stored.IsBuiltIn);
    }

    [Fact]
    public async Task CreatePreset_InvalidValues_ReportsEachParameterAndSavesNothing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var values = new JsonObject
        {
            ["learning_rate"] = 0.0,
            ["batch_size"] = 2.5,
            ["lr_scheduler"] = "exponential",
            ["target_modules"] = new JsonArray("q_proj", "attn"),
            ["bogus"] = 1,
        };

        var result = await env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("", TrainingAlgorithm.Sft, null, values));

        Assert.Equal("Learning rate must be greater than 0.", Assert.Single(result.ErrorsFor("learning_rate")));
        Assert.Equal("Batch size must be a whole number.", Assert.Single(result.ErrorsFor("batch_size")));
        Assert.Contains("cosine, linear, constant", Assert.Single(result.ErrorsFor("lr_scheduler")));
        Assert.Contains("\"attn\" is not one of", Assert.Single(result.ErrorsFor("target_modules")));
        Assert.Contains("not a parameter of SFT (LoRA)", Assert.Single(result.ErrorsFor("bogus")));
        Assert.NotEmpty(result.ErrorsFor(TrainingMethodService.NameField));
        Assert.Equal(4, (await env.TrainingMethods.ListAsync()).Count);
    }

    [Fact]
    public async Task CreatePreset_NameOfABuiltInInOtherCase_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();

        var result = await env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("dpo", TrainingAlgorithm.Dpo, null, []));

        Assert.Contains("already exists", string.Join(" ", result.ErrorsFor(TrainingMethodService.NameField)));
    }

    [Fact]
    public async Task BuiltInMethod_UpdateOrDelete_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var sft = (await env.TrainingMethods.ListAsync()).First();

        var update = await env.TrainingMethods.UpdatePresetAsync(sft.Id, new TrainingMethodInput("SFT", TrainingAlgorithm.Sft, null, []));
        var delete = await env.TrainingMethods.DeletePresetAsync(sft.Id);

        Assert.Contains("cannot be changed", update.AllErrors);
        Assert.Contains("cannot be deleted", delete.AllErrors);
        Assert.Equal(4, (await env.TrainingMethods.ListAsync()).Count);
    }

    [Fact]
    public async Task CustomMethod_UpdateThenDelete_Works()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var created = (await env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("mine", TrainingAlgorithm.Dpo, null, new JsonObject { ["dpo_beta"] = 0.2 }))).Value!;

        var updated = await env.TrainingMethods.UpdatePresetAsync(created.Id, new TrainingMethodInput("mine v2", TrainingAlgorithm.Dpo, "sharper", new JsonObject { ["dpo_beta"] = 0.05 }));
        Assert.True(updated.Succeeded, updated.AllErrors);
        Assert.Equal(0.05, (await env.TrainingMethods.GetAsync(created.Id))!.ResolvedDefaults()["dpo_beta"]!.GetValue<double>());

        Assert.True((await env.TrainingMethods.DeletePresetAsync(created.Id)).Value);
        Assert.Null(await env.TrainingMethods.GetAsync(created.Id));
    }

    [Theory]
    [InlineData("learning_rate", 5e-3, "above the typical range")]
    [InlineData("learning_rate", 1e-7, "below the typical range")]
    [InlineData("batch_size", 1, "below the typical range")]
    [InlineData("max_tokens", 8192, "above the typical range")]
    public void Warnings_ValidButUnusualValue_IsWarnedNotRefused(string key, double value, string warning)
    {
        var values = new JsonObject { [key] = value };

        Assert.False(TrainingMethodService.ValidateValues(TrainingAlgorithm.Sft, values).Any);
        Assert.Contains(warning, TrainingMethodService.Warnings(TrainingAlgorithm.Sft, values)[key]);
    }

    [Theory]
    [InlineData(128, 256, "Max tokens 128 is below this model's context of 256 tokens: longer examples are cut at 128.")]
    [InlineData(256, 256, null)]
    [InlineData(300, 1024, "Max tokens 300 is below the typical range 512–1024 for this model (context 1024 tokens).")]
    [InlineData(600, 1024, null)]
    [InlineData(8192, 32768, "Max tokens 8192 is above the typical range 512–4096.")]
    public void Warnings_MaxTokens_AreMeasuredAgainstTheModelsContext(int maxTokens, int context, string? warning)
    {
        var warnings = TrainingMethodService.Warnings(TrainingAlgorithm.Sft, new JsonObject { ["max_tokens"] = maxTokens }, context);

        Assert.Equal(warning, warnings.GetValueOrDefault("max_tokens"));
    }

    [Fact]
    public void Catalog_EveryAlgorithm_HasValidDefaultsAndLoraParameters()
    {
        foreach (var definition in AlgorithmCatalog.All)
        {
            var defaults = new TrainingMethod { Name = "", Algorithm = definition.Algorithm }.ResolvedDefaults();
            Assert.False(TrainingMethodService.ValidateValues(definition.Algorithm, defaults).Any, definition.DisplayName);
            Assert.NotNull(definition.Find("lora_r"));
            Assert.Equal(definition.Parameters.Count, definition.Parameters.Select(p => p.Key).Distinct().Count());
        }
    }
}
