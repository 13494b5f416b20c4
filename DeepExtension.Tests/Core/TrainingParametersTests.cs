using System.Text.Json.Nodes;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Training;

namespace DeepExtension.Tests.Core;

public class TrainingParametersTests
{
    // As an earlier version stored them in TrainingRuns.ParametersJson (method defaults applied, form values on top).
    private const string OldSft =
        """{"num_epochs":3,"batch_size":4,"gradient_accumulation_steps":2,"learning_rate":0.0002,"max_tokens":512,"lr_scheduler":"cosine","warmup_ratio":0.03,"weight_decay":0.01,"max_grad_norm":1,"seed":7,"system_prompt":"","save_every":50,"save_unit":"steps","eval_every_steps":10,"lora_r":8,"lora_alpha":16,"lora_dropout":0.05,"target_modules":["q_proj","v_proj"],"use_rslora":true,"train_on_responses_only":false}""";

    private const string OldGrpo =
        """{"num_epochs":1,"batch_size":2,"gradient_accumulation_steps":1,"learning_rate":1e-06,"max_tokens":256,"lr_scheduler":"linear","warmup_ratio":0,"weight_decay":0,"max_grad_norm":1,"seed":42,"system_prompt":"Think first.","save_every":1,"save_unit":"epochs","eval_every_steps":0,"lora_r":16,"lora_alpha":32,"lora_dropout":0.05,"target_modules":["q_proj","k_proj","v_proj","o_proj"],"use_rslora":false,"num_generations":4,"grpo_beta":0.04,"max_completion_tokens":64,"temperature":0.9,"reward_functions":["exact_match","format_think"]}""";

    // A PPO preset as earlier versions stored it (PPO could not be started then): it asked for a reward model.
    private const string OldPpo =
        """{"num_epochs":1,"batch_size":4,"learning_rate":1e-06,"max_tokens":512,"reward_model":"my-rm","ppo_epochs":2,"clip_range":0.1,"kl_coef":0.05,"max_completion_tokens":64}""";

    [Fact]
    public void FromJson_OldPpoPresetWithRewardModel_ReadsWithRewardFunctionDefaultsAndKeepsTheRewardModelKey()
    {
        var p = TrainingParameters.FromJson(OldPpo, TrainingAlgorithm.Ppo);

        Assert.Equal(2, p.PpoEpochs);
        Assert.Equal(0.1, p.ClipRange);
        Assert.Equal(["exact_match"], p.RewardFunctions);
        Assert.Equal(1, p.NumMiniBatches);
        Assert.Equal(0.1, p.VfCoef);
        Assert.Equal(1.0, p.Gamma);
        Assert.Equal(0.95, p.Lambda);
        Assert.Equal("my-rm", p.Other!["reward_model"].GetString());
        // Written back, nothing recorded is lost.
        Assert.Equal("my-rm", p.ToJson(TrainingAlgorithm.Ppo)["reward_model"]!.GetValue<string>());
    }

    [Fact]
    public void FromJson_OldSftParametersJson_ReadsEveryValueTypedAndWritesTheSameJsonBack()
    {
        var original = JsonNode.Parse(OldSft)!.AsObject();

        var p = TrainingParameters.FromJson(OldSft, TrainingAlgorithm.Sft);

        Assert.Equal(3, p.Epochs);
        Assert.Equal(4, p.BatchSize);
        Assert.Equal(2, p.GradientAccumulation);
        Assert.Equal(0.0002, p.LearningRate);
        Assert.Equal(512, p.MaxTokens);
        Assert.Equal("cosine", p.Scheduler);
        Assert.Equal(0.03, p.WarmupRatio);
        Assert.Equal(0.01, p.WeightDecay);
        Assert.Equal(1, p.MaxGradNorm);
        Assert.Equal(7, p.Seed);
        Assert.Null(p.SystemPrompt);
        Assert.Equal(50, p.SaveEvery);
        Assert.True(p.SaveInSteps);
        Assert.Equal("every 50 steps", p.SaveFrequency);
        Assert.Equal(10, p.EvalEverySteps);
        Assert.Equal(8, p.LoraR);
        Assert.Equal(16, p.LoraAlpha);
        Assert.Equal(0.05, p.LoraDropout);
        Assert.Equal(["q_proj", "v_proj"], p.TargetModules);
        Assert.True(p.UseRslora);
        Assert.False(p.TrainOnResponsesOnly);
        // Parameters added since are written with what the run did: no checkpointing, no packing.
        Assert.Equal(TrainingParameters.Checkpointing.Off, p.GradientCheckpointing);
        Assert.False(p.Packing);
        original["gradient_checkpointing"] = "off";
        original["packing"] = false;
        Assert.True(JsonNode.DeepEquals(original, p.ToJson(TrainingAlgorithm.Sft)), p.ToJson(TrainingAlgorithm.Sft).ToJsonString());
    }

    [Fact]
    public void Packing_IsOnForNewSftTrains_AndOffForRunsRecordedBeforeIt()
    {
        var method = new TrainingMethod { Name = "SFT", Algorithm = TrainingAlgorithm.Sft };
        Assert.True(TrainingParameters.FromJson(method.ResolvedDefaults(), TrainingAlgorithm.Sft).Packing);
        Assert.False(TrainingParameters.FromJson(OldSft, TrainingAlgorithm.Sft).Packing);
        // A value that is there but invalid reads as the default, as for every other parameter.
        var invalid = JsonNode.Parse(OldSft)!.AsObject();
        invalid["packing"] = "yes";
        Assert.True(TrainingParameters.FromJson(invalid, TrainingAlgorithm.Sft).Packing);
    }

    [Fact]
    public void FromJson_OldGrpoParametersJson_ReadsTheMethodValuesAndRoundTrips()
    {
        var p = TrainingParameters.FromJson(OldGrpo, TrainingAlgorithm.Grpo);

        Assert.Equal(4, p.NumGenerations);
        Assert.Equal(0.04, p.GrpoBeta);
        Assert.Equal(64, p.MaxCompletionTokens);
        Assert.Equal(0.9, p.Temperature);
        Assert.Equal(["exact_match", "format_think"], p.RewardFunctions);
        Assert.Equal(1e-6, p.LearningRate);
        Assert.Equal("Think first.", p.SystemPrompt);
        var expected = JsonNode.Parse(OldGrpo)!.AsObject();
        expected["gradient_checkpointing"] = "off"; // added since, written with what the run did
        Assert.True(JsonNode.DeepEquals(expected, p.ToJson(TrainingAlgorithm.Grpo)), p.ToJson(TrainingAlgorithm.Grpo).ToJsonString());
    }

    [Fact]
    public void FromJson_KeyMissingFromAnOlderRun_ReadsTheMethodDefault()
    {
        var old = JsonNode.Parse(OldSft)!.AsObject();
        old.Remove("eval_every_steps");
        old.Remove("use_rslora");

        var p = TrainingParameters.FromJson(old, TrainingAlgorithm.Sft);

        Assert.Equal(0, p.EvalEverySteps);
        Assert.False(p.UseRslora);
        Assert.Equal(512, p.MaxTokens);
    }

    [Fact]
    public void FromJson_WholeNumbersStoredAsDecimalsAndUnknownKeys_ReadAndAreKept()
    {
        var old = JsonNode.Parse(OldSft)!.AsObject();
        old["num_epochs"] = 3.0;
        old["max_tokens"] = JsonNode.Parse("512.0");
        old["future_option"] = "kept";

        var p = TrainingParameters.FromJson(old, TrainingAlgorithm.Sft);

        Assert.Equal(3, p.Epochs);
        Assert.Equal(512, p.MaxTokens);
        Assert.Equal("kept", p.ToJson(TrainingAlgorithm.Sft)["future_option"]!.GetValue<string>());
    }

    [Fact]
    public void TrainingCard_CompleteModelCard_GivesTheTrainingSystemPromptTyped()
    {
        var complete = new CompleteModel
        {
            Name = "m_s_ab12",
            CustomizedModelName = "m",
            Path = "complete-models/m_s_ab12",
            CardJson = new JsonObject
            {
                ["name"] = "m_s_ab12",
                ["training"] = new JsonObject
                {
                    ["train"] = new JsonObject { ["algorithm"] = "Grpo" },
                    ["parameters"] = JsonNode.Parse(OldGrpo),
                },
            }.ToJsonString(),
        };

        var card = complete.TrainingCard;

        Assert.NotNull(card);
        Assert.Equal(TrainingAlgorithm.Grpo, card.Algorithm);
        Assert.Equal("Think first.", card.Parameters.SystemPrompt);
        Assert.Equal(64, card.Parameters.MaxCompletionTokens);
        Assert.Null(new CompleteModel { Name = "x", CustomizedModelName = "y", Path = "z", CardJson = "{}" }.TrainingCard);
        Assert.Null(new CustomizedModel { Name = "x", TrainName = "y", AdapterPath = "z", CardJson = "not json" }.TrainingCard);
    }

    [Fact]
    public void Catalogue_EveryParameterOfEveryAlgorithm_HasATypedProperty()
    {
        var typed = typeof(TrainingParameters).GetProperties()
            .Select(p => p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), false)
                .Cast<System.Text.Json.Serialization.JsonPropertyNameAttribute>().FirstOrDefault()?.Name)
            .OfType<string>().ToHashSet(StringComparer.Ordinal);

        foreach (var spec in AlgorithmCatalog.All.SelectMany(a => a.Parameters))
        {
            Assert.True(typed.Contains(spec.Key), $"{spec.Key} has no typed property");
        }
    }

    [Fact]
    public void FromJson_DefaultsOfEveryAlgorithm_ReadAsTheCatalogueSays()
    {
        foreach (var definition in AlgorithmCatalog.All)
        {
            var defaults = new JsonObject();
            foreach (var spec in definition.Parameters) defaults[spec.Key] = spec.Default?.DeepClone();

            var p = TrainingParameters.FromJson(defaults, definition.Algorithm);

            Assert.True(JsonNode.DeepEquals(defaults, p.ToJson(definition.Algorithm)), $"{definition.Algorithm}: {p.ToJson(definition.Algorithm).ToJsonString()}");
        }
    }
}
