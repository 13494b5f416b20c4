using System.Text.Json.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;

namespace DeepExtension.Tests.Runs;

public sealed class RunComparisonServiceTests
{
    private static ComparedRun Run(string name, TrainingAlgorithm algorithm, string method, JsonObject parameters, int datasetVersion = 1) =>
        new(new TrainingRun
        {
            Id = Guid.NewGuid(), Name = name, BaseModelTechnicalName = "tiny-qwen2", MethodName = method, Algorithm = algorithm,
            ParametersJson = parameters.ToJsonString(), Device = "cpu",
        }, "facts", datasetVersion, new string('a', 64), null);

    private static Dictionary<string, ConfigurationRow> Rows(params ComparedRun[] runs) =>
        RunComparisonService.ConfigurationOf(runs).ToDictionary(r => r.Key);

    [Fact]
    public void ConfigurationOf_SftAndDpoRuns_ShowsEachMethodsParametersWithADashWhereARunHasNone()
    {
        var sft = Run("sft", TrainingAlgorithm.Sft, "SFT (LoRA)", new() { ["num_epochs"] = 3, ["train_on_responses_only"] = true });
        var dpo = Run("dpo", TrainingAlgorithm.Dpo, "DPO gentle", new() { ["num_epochs"] = 3, ["dpo_beta"] = 0.05 });

        var rows = Rows(sft, dpo);

        Assert.Equal(["3", "3"], rows["num_epochs"].Values);
        Assert.True(rows["num_epochs"].AllEqual);
        Assert.Equal(["yes", RunComparisonService.NoValue], rows["train_on_responses_only"].Values);
        Assert.Equal([RunComparisonService.NoValue, "0.05"], rows["dpo_beta"].Values);
        Assert.False(rows["dpo_beta"].AllEqual);
        Assert.Equal(["SFT (LoRA)", "DPO gentle (DPO)"], rows["method"].Values);
        Assert.Equal("β", rows["dpo_beta"].Label);
    }

    [Fact]
    public void ConfigurationOf_SaveSettingsAndBlankSystemPrompt_OneSaveFrequencyRowAndNone()
    {
        var a = Run("a", TrainingAlgorithm.Sft, "SFT (LoRA)", new() { ["save_every"] = 1, ["save_unit"] = "epochs", ["system_prompt"] = "" });
        var b = Run("b", TrainingAlgorithm.Sft, "SFT (LoRA)", new() { ["save_every"] = 50, ["save_unit"] = "steps", ["system_prompt"] = "Be brief." }, datasetVersion: 2);

        var rows = Rows(a, b);

        Assert.Equal(["every 1 epochs", "every 50 steps"], rows["save_frequency"].Values);
        Assert.False(rows.ContainsKey("save_every"));
        Assert.False(rows.ContainsKey("save_unit"));
        Assert.Equal(["(none)", "Be brief."], rows["system_prompt"].Values);
        Assert.Equal(["v1 · sha256 aaaaaaaaaaaa…", "v2 · sha256 aaaaaaaaaaaa…"], rows["dataset_version"].Values);
        Assert.True(rows["dataset"].AllEqual);
    }

    [Fact]
    public void ConfigurationOf_KeyNoSchemaKnows_ComesLastUnderOther()
    {
        var rows = RunComparisonService.ConfigurationOf([
            Run("a", TrainingAlgorithm.Sft, "SFT (LoRA)", new() { ["zz_custom"] = 1 }),
            Run("b", TrainingAlgorithm.Sft, "SFT (LoRA)", new()),
        ]);

        Assert.Equal("zz_custom", rows[^1].Key);
        Assert.Equal("Other", rows[^1].Group);
        Assert.Equal(["1", RunComparisonService.NoValue], rows[^1].Values);
    }

    [Fact]
    public void ParseIds_CommaSeparatedWithDuplicatesAndJunk_KeepsOrderOnceAndReportsJunk()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();

        var (ids, unreadable) = RunComparisonService.ParseIds($" {b}, {a},{b},,nope ");

        Assert.Equal([b, a], ids);
        Assert.Equal(["nope"], unreadable);
        Assert.Empty(RunComparisonService.ParseIds(null).Ids);
    }
}
