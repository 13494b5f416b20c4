using System.Text.Json.Nodes;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>The parameters a run recorded, read with their types.</summary>
public sealed class RunSettings(JsonObject parameters)
{
    public int Epochs => Int("num_epochs");
    public int BatchSize => Int("batch_size");
    public int GradientAccumulation => Int("gradient_accumulation_steps");
    public double LearningRate => Number("learning_rate");
    public int MaxTokens => Int("max_tokens");
    public string Scheduler => Text("lr_scheduler");
    public double WarmupRatio => Number("warmup_ratio");
    public double WeightDecay => Number("weight_decay");
    public double MaxGradNorm => Number("max_grad_norm");
    public int Seed => Int("seed");
    public string? SystemPrompt => parameters["system_prompt"]?.GetValue<string>() is { Length: > 0 } s ? s : null;
    public int SaveEvery => Int("save_every");
    public bool SaveInSteps => Text("save_unit") == "steps";
    public int EvalEverySteps => Int("eval_every_steps");
    public bool TrainOnResponsesOnly => parameters["train_on_responses_only"]?.GetValue<bool>() ?? true;
    public double DpoBeta => Number("dpo_beta");
    public double DpoLabelSmoothing => parameters.ContainsKey("dpo_label_smoothing") ? Number("dpo_label_smoothing") : 0;
    public int NumGenerations => Int("num_generations");
    public double GrpoBeta => Number("grpo_beta");
    public int MaxCompletionTokens => Int("max_completion_tokens");
    public double Temperature => Number("temperature");
    public IReadOnlyList<string> RewardFunctions => parameters["reward_functions"]?.AsArray().Select(f => f!.GetValue<string>()).ToList() ?? throw Missing("reward_functions");

    public LoraConfig Lora => new(
        Int("lora_r"),
        Int("lora_alpha"),
        Number("lora_dropout"),
        parameters["target_modules"]!.AsArray().Select(m => m!.GetValue<string>()).ToList(),
        parameters["use_rslora"]?.GetValue<bool>() ?? false);

    private int Int(string key) => ParameterSpec.TryGetNumber(parameters[key]!, out var n) ? (int)n : throw Missing(key);

    private double Number(string key) => ParameterSpec.TryGetNumber(parameters[key]!, out var n) ? n : throw Missing(key);

    private string Text(string key) => parameters[key]?.GetValue<string>() ?? throw Missing(key);

    private static InvalidDataException Missing(string key) => new($"The run's parameters have no valid \"{key}\".");
}
