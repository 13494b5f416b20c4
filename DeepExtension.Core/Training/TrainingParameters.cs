using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace DeepExtension.Core.Training;

/// <summary>
/// Every training parameter a run records, typed. The JSON names are the keys runs have stored in ParametersJson (and
/// model cards under "parameters") since the first version, so what earlier versions wrote reads as it is. Values an
/// algorithm has no use for are left at their zero value (an SFT run's <see cref="DpoBeta"/> is 0); keys this version
/// does not know are kept in <see cref="Other"/>.
/// </summary>
public sealed record TrainingParameters
{
    /// <summary>The JSON names, for code that works on the raw values (the form's editor, validation messages).</summary>
    public static class Keys
    {
        public const string Epochs = "num_epochs";
        public const string BatchSize = "batch_size";
        public const string GradientAccumulation = "gradient_accumulation_steps";
        public const string LearningRate = "learning_rate";
        public const string MaxTokens = "max_tokens";
        public const string Scheduler = "lr_scheduler";
        public const string WarmupRatio = "warmup_ratio";
        public const string WeightDecay = "weight_decay";
        public const string MaxGradNorm = "max_grad_norm";
        public const string Seed = "seed";
        public const string SystemPrompt = "system_prompt";
        public const string SaveEvery = "save_every";
        public const string SaveUnit = "save_unit";
        public const string EvalEverySteps = "eval_every_steps";
        public const string LoraR = "lora_r";
        public const string LoraAlpha = "lora_alpha";
        public const string LoraDropout = "lora_dropout";
        public const string TargetModules = "target_modules";
        public const string UseRslora = "use_rslora";
        public const string TrainOnResponsesOnly = "train_on_responses_only";
        public const string DpoBeta = "dpo_beta";
        public const string DpoLabelSmoothing = "dpo_label_smoothing";
        public const string NumGenerations = "num_generations";
        public const string GrpoBeta = "grpo_beta";
        public const string MaxCompletionTokens = "max_completion_tokens";
        public const string Temperature = "temperature";
        public const string RewardFunctions = "reward_functions";
        public const string RewardWeights = "reward_weights";
        public const string PpoEpochs = "ppo_epochs";
        public const string NumMiniBatches = "num_mini_batches";
        public const string ClipRange = "clip_range";
        public const string ClipRangeValue = "cliprange_value";
        public const string VfCoef = "vf_coef";
        public const string KlCoef = "kl_coef";
        public const string Gamma = "gamma";
        public const string Lambda = "lam";
        public const string WhitenRewards = "whiten_rewards";
        public const string GradientCheckpointing = "gradient_checkpointing";
        public const string Packing = "packing";
    }

    /// <summary>The values of <see cref="GradientCheckpointing"/>.</summary>
    public static class Checkpointing
    {
        public const string Off = "off";
        public const string Layer = "layer";
        public const string Offload = "offload";
        public static readonly IReadOnlyList<string> All = [Off, Layer, Offload];
    }

    public const string SaveInStepsUnit = "steps";

    [JsonPropertyName(Keys.Epochs)] public int Epochs { get; init; }
    [JsonPropertyName(Keys.BatchSize)] public int BatchSize { get; init; }
    [JsonPropertyName(Keys.GradientAccumulation)] public int GradientAccumulation { get; init; }
    [JsonPropertyName(Keys.LearningRate)] public double LearningRate { get; init; }
    [JsonPropertyName(Keys.MaxTokens)] public int MaxTokens { get; init; }
    [JsonPropertyName(Keys.Scheduler)] public string Scheduler { get; init; } = "";
    [JsonPropertyName(Keys.WarmupRatio)] public double WarmupRatio { get; init; }
    [JsonPropertyName(Keys.WeightDecay)] public double WeightDecay { get; init; }
    [JsonPropertyName(Keys.MaxGradNorm)] public double MaxGradNorm { get; init; }
    [JsonPropertyName(Keys.Seed)] public int Seed { get; init; }

    /// <summary>Null when blank: the model's own default applies.</summary>
    [JsonPropertyName(Keys.SystemPrompt)]
    public string? SystemPrompt { get; init => field = value is { Length: > 0 } ? value : null; }

    [JsonPropertyName(Keys.SaveEvery)] public int SaveEvery { get; init; }
    /// <summary>"epochs" or "steps".</summary>
    [JsonPropertyName(Keys.SaveUnit)] public string SaveUnit { get; init; } = "";
    [JsonPropertyName(Keys.EvalEverySteps)] public int EvalEverySteps { get; init; }

    [JsonPropertyName(Keys.LoraR)] public int LoraR { get; init; }
    [JsonPropertyName(Keys.LoraAlpha)] public int LoraAlpha { get; init; }
    [JsonPropertyName(Keys.LoraDropout)] public double LoraDropout { get; init; }
    [JsonPropertyName(Keys.TargetModules)] public IReadOnlyList<string> TargetModules { get; init; } = [];
    [JsonPropertyName(Keys.UseRslora)] public bool UseRslora { get; init; }

    [JsonPropertyName(Keys.TrainOnResponsesOnly)] public bool TrainOnResponsesOnly { get; init; } = true;
    [JsonPropertyName(Keys.DpoBeta)] public double DpoBeta { get; init; }
    [JsonPropertyName(Keys.DpoLabelSmoothing)] public double DpoLabelSmoothing { get; init; }
    [JsonPropertyName(Keys.NumGenerations)] public int NumGenerations { get; init; }
    [JsonPropertyName(Keys.GrpoBeta)] public double GrpoBeta { get; init; }
    [JsonPropertyName(Keys.MaxCompletionTokens)] public int MaxCompletionTokens { get; init; }
    [JsonPropertyName(Keys.Temperature)] public double Temperature { get; init; }
    [JsonPropertyName(Keys.RewardFunctions)] public IReadOnlyList<string> RewardFunctions { get; init; } = [];
    /// <summary>PPO: one weight per reward function, comma-separated ("1, 0.5"); blank weighs each 1. (PPO methods of
    /// earlier versions recorded a "reward_model" instead; it is kept, unused, in <see cref="Other"/>.)</summary>
    [JsonPropertyName(Keys.RewardWeights)] public string RewardWeights { get; init; } = "";
    [JsonPropertyName(Keys.PpoEpochs)] public int PpoEpochs { get; init; }
    [JsonPropertyName(Keys.NumMiniBatches)] public int NumMiniBatches { get; init; }
    [JsonPropertyName(Keys.ClipRange)] public double ClipRange { get; init; }
    [JsonPropertyName(Keys.ClipRangeValue)] public double ClipRangeValue { get; init; }
    [JsonPropertyName(Keys.VfCoef)] public double VfCoef { get; init; }
    [JsonPropertyName(Keys.KlCoef)] public double KlCoef { get; init; }
    [JsonPropertyName(Keys.Gamma)] public double Gamma { get; init; }
    [JsonPropertyName(Keys.Lambda)] public double Lambda { get; init; }
    [JsonPropertyName(Keys.WhitenRewards)] public bool WhitenRewards { get; init; }
    /// <summary>One of <see cref="Checkpointing"/>: what training keeps of each decoder layer's activations.</summary>
    [JsonPropertyName(Keys.GradientCheckpointing)] public string GradientCheckpointing { get; init; } = Checkpointing.Off;
    /// <summary>SFT: a micro-batch's examples laid end to end without padding, none attending to another.</summary>
    [JsonPropertyName(Keys.Packing)] public bool Packing { get; init; }

    /// <summary>Keys no property here knows (written by another version), kept so nothing recorded is lost.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Other { get; init; }

    [JsonIgnore] public bool SaveInSteps => SaveUnit == SaveInStepsUnit;

    /// <summary>"every 1 epochs", as lists and Compare show the save frequency.</summary>
    [JsonIgnore] public string SaveFrequency => $"every {SaveEvery} {SaveUnit}";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>
    /// Reads recorded parameters. With the run's <paramref name="algorithm"/>, a key it is missing (recorded by a version
    /// before the parameter existed) or holding a value its schema rejects reads as the method's built-in default.
    /// </summary>
    public static TrainingParameters FromJson(JsonObject parameters, TrainingAlgorithm? algorithm = null)
    {
        var specs = algorithm is { } a ? AlgorithmCatalog.Get(a).Parameters : AlgorithmCatalog.All.SelectMany(d => d.Parameters).DistinctBy(p => p.Key).ToList();
        var values = new JsonObject();
        foreach (var (key, value) in parameters) values[key] = value?.DeepClone();
        foreach (var spec in specs)
        {
            var value = values[spec.Key];
            if (value is null || spec.Validate(value) is not null)
            {
                if (algorithm is null) values.Remove(spec.Key);
                else values[spec.Key] = (value is null && spec.Absent is not null ? spec.Absent : spec.Default)?.DeepClone();
                continue;
            }
            // Whole numbers may have been stored as 3.0 by a form; the typed property is an int.
            if (spec.Type == ParameterType.Integer && ParameterSpec.TryGetNumber(value, out var number)) values[spec.Key] = (long)number;
            else if (spec.Type == ParameterType.Number && ParameterSpec.TryGetNumber(value, out number)) values[spec.Key] = number;
        }
        return values.Deserialize<TrainingParameters>(Json) ?? new TrainingParameters();
    }

    public static TrainingParameters FromJson(string parametersJson, TrainingAlgorithm? algorithm = null) =>
        FromJson(JsonNode.Parse(string.IsNullOrWhiteSpace(parametersJson) ? "{}" : parametersJson) as JsonObject ?? [], algorithm);

    /// <summary>The recorded form: the parameters of <paramref name="algorithm"/> (and any unknown keys), under their JSON names.</summary>
    public JsonObject ToJson(TrainingAlgorithm algorithm)
    {
        var all = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        var keys = AlgorithmCatalog.Get(algorithm).Parameters.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var recorded = new JsonObject();
        foreach (var (key, value) in all)
        {
            if (keys.Contains(key) || Other?.ContainsKey(key) == true) recorded[key] = value?.DeepClone();
        }
        if (keys.Contains(Keys.SystemPrompt)) recorded[Keys.SystemPrompt] ??= "";
        return recorded;
    }
}
