using System.Text.Json.Nodes;
using DeepExtension.Core.HuggingFace;

namespace DeepExtension.Core.Training;

public enum TrainingAlgorithm
{
    Sft,
    Dpo,
    Grpo,
    Ppo,
}

/// <summary>What an algorithm is, what data it needs, its parameters, and whether the engine can run it.</summary>
public sealed record AlgorithmDefinition(
    TrainingAlgorithm Algorithm,
    string DisplayName,
    string Description,
    string DatasetRequirement,
    bool IsImplemented,
    IReadOnlyList<ParameterSpec> Parameters)
{
    public ParameterSpec? Find(string key) => Parameters.FirstOrDefault(p => p.Key == key);

    /// <summary>Why a method of this algorithm cannot be started, or null when it can.</summary>
    public string? NotStartableReason => IsImplemented
        ? null
        : $"{DisplayName} training is not implemented in this version of DeepExtension yet: methods based on it can be defined and kept, but not started.";
}

/// <summary>The built-in algorithms and their parameter schemas.</summary>
public static class AlgorithmCatalog
{
    private static JsonValue V<T>(T value) => JsonValue.Create(value)!;

    private static IEnumerable<ParameterSpec> CommonTraining(double learningRate, int epochs) =>
    [
        new() { Key = "num_epochs", Label = "Epochs", Type = ParameterType.Integer, Default = V(epochs), Min = 1, Max = 1000, TypicalMin = 1, TypicalMax = 50,
            Help = "Passes over the training data." },
        new() { Key = "batch_size", Label = "Batch size", Type = ParameterType.Integer, Default = V(4), Min = 1, Max = 1024, TypicalMin = 2, TypicalMax = 64,
            Help = "Samples per optimizer micro-step (GRPO: prompts, each sampled num_generations times). On small GPUs use 1–2 with gradient accumulation." },
        new() { Key = "gradient_accumulation_steps", Label = "Gradient accumulation", Type = ParameterType.Integer, Default = V(1), Min = 1, Max = 1024,
            Help = "Micro-batches summed before each optimizer step; effective batch = batch size × this." },
        new() { Key = "learning_rate", Label = "Learning rate", Type = ParameterType.Number, Default = V(learningRate), Min = 0, MinExclusive = true, Max = 1,
            TypicalMin = 1e-6, TypicalMax = 1e-3, Help = "Peak AdamW learning rate, reached after warm-up." },
        new() { Key = "max_tokens", Label = "Max tokens", Type = ParameterType.Integer, Default = V(1024), Min = 16, Max = 1_048_576, TypicalMin = 512, TypicalMax = 4096,
            Help = "Longest tokenized example; longer ones are truncated. Bounded by the base model's context length." },
        new() { Key = "lr_scheduler", Label = "Scheduler", Type = ParameterType.Choice, Default = V("cosine"), Choices = ["cosine", "linear", "constant"],
            Help = "Learning-rate decay after warm-up." },
        new() { Key = "warmup_ratio", Label = "Warm-up ratio", Type = ParameterType.Number, Default = V(0.03), Min = 0, Max = 0.5,
            Help = "Fraction of all optimizer steps spent ramping the learning rate up from zero." },
        new() { Key = "weight_decay", Label = "Weight decay", Type = ParameterType.Number, Default = V(0.0), Min = 0, Max = 1,
            Help = "AdamW decoupled weight decay on the adapter weights." },
        new() { Key = "max_grad_norm", Label = "Max gradient norm", Type = ParameterType.Number, Default = V(1.0), Min = 0, Max = 1000,
            Help = "Gradients are clipped to this global norm; 0 turns clipping off." },
        new() { Key = "seed", Label = "Seed", Type = ParameterType.Integer, Default = V(42), Min = 0, Max = int.MaxValue,
            Help = "Seeds data order, dropout and LoRA initialisation, so a run can be repeated." },
        new() { Key = "system_prompt", Label = "System prompt", Type = ParameterType.Text, Default = V(""), Max = 8000, Optional = true,
            Help = "Added as the system message where an example has none; also used when the model is deployed. Blank keeps the model's default." },
        new() { Key = "save_every", Label = "Save every", Type = ParameterType.Integer, Default = V(1), Min = 1, Max = 1_000_000,
            Help = "How often a checkpoint is written, in the unit below." },
        new() { Key = "save_unit", Label = "Save unit", Type = ParameterType.Choice, Default = V("epochs"), Choices = ["epochs", "steps"],
            Help = "Whether 'Save every' counts epochs or optimizer steps." },
        new() { Key = "eval_every_steps", Label = "Evaluate every (steps)", Type = ParameterType.Integer, Default = V(0), Min = 0, Max = 1_000_000,
            Help = "Evaluation loss on the validation split every N optimizer steps; 0 evaluates only at the end of each epoch (when a split exists)." },
        new() { Key = TrainingParameters.Keys.GradientCheckpointing, Label = "Gradient checkpointing", Type = ParameterType.Choice,
            Default = V(TrainingParameters.Checkpointing.Off), Choices = TrainingParameters.Checkpointing.All, Group = "Memory",
            Help = "off keeps every activation for backward (fastest). layer keeps only each decoder layer's input and runs the layer again " +
                   "in backward: about a third more compute per step for a fraction of the activation memory, so longer examples or larger " +
                   "batches fit. offload is layer with those inputs kept in host memory (GPU only; on the CPU it is layer)." },
    ];

    private static ParameterSpec Packing => new()
    {
        Key = TrainingParameters.Keys.Packing, Label = "Packing (padding-free)", Type = ParameterType.Boolean, Default = V(true), Absent = V(false),
        Group = "Memory",
        Help = "Lays each micro-batch's examples end to end instead of padding them to the longest; positions restart at each example " +
               "and no example attends to another, so the loss is the same and no compute goes to padding. Off pads as before.",
    };

    private static IEnumerable<ParameterSpec> Lora(int rank = 16, int alpha = 32) =>
    [
        new() { Key = "lora_r", Label = "LoRA rank", Type = ParameterType.Integer, Default = V(rank), Min = 1, Max = 1024, TypicalMin = 4, TypicalMax = 128,
            Group = "PEFT", Help = "Rank r of the low-rank update B·A." },
        new() { Key = "lora_alpha", Label = "LoRA alpha", Type = ParameterType.Integer, Default = V(alpha), Min = 1, Max = 4096, Group = "PEFT",
            Help = "Scaling numerator: the update is multiplied by alpha / r (alpha / √r with rsLoRA)." },
        new() { Key = "lora_dropout", Label = "LoRA dropout", Type = ParameterType.Number, Default = V(0.0), Min = 0, Max = 0.9, Group = "PEFT",
            Help = "Dropout on the adapter's input during training. 0 (PEFT's default) lets the adapters of a layer that share an input " +
                   "run together, in less memory and time; above 0 each projection draws its own mask and runs on its own." },
        new() { Key = "target_modules", Label = "Target modules", Type = ParameterType.List, Default = new JsonArray([.. PeftTargetModules.All.Select(m => (JsonNode)V(m))]),
            Choices = PeftTargetModules.All, Group = "PEFT", Help = "Linear layers that get an adapter, named as in PEFT's target_modules." },
        new() { Key = "use_rslora", Label = "rsLoRA", Type = ParameterType.Boolean, Default = V(false), Group = "PEFT",
            Help = "Rank-stabilised scaling alpha / √r, steadier at high ranks." },
    ];

    public static readonly IReadOnlyList<AlgorithmDefinition> All =
    [
        new(TrainingAlgorithm.Sft, "SFT (LoRA)",
            "Supervised fine-tuning: the model learns to produce the assistant turns of your examples. Only LoRA adapter weights train.",
            "Instruction or chat data (alpaca, messages, ShareGPT)", IsImplemented: true,
            [
                .. CommonTraining(2e-4, 3), .. Lora(), Packing,
                new() { Key = "train_on_responses_only", Label = "Train on responses only", Type = ParameterType.Boolean, Default = V(true), Group = "Method",
                    Help = "Loss only on assistant tokens; prompts and system text are context, not targets." },
            ]),
        new(TrainingAlgorithm.Dpo, "DPO",
            "Direct Preference Optimization: raises the likelihood of chosen over rejected answers relative to the base model (the same model with the adapter disabled).",
            "Preference pairs (prompt, chosen, rejected)", IsImplemented: true,
            [
                .. CommonTraining(5e-6, 1), .. Lora(),
                new() { Key = "dpo_beta", Label = "β", Type = ParameterType.Number, Default = V(0.1), Min = 0, MinExclusive = true, Max = 10, TypicalMin = 0.01, TypicalMax = 0.5,
                    Group = "Method", Help = "Strength of the KL constraint to the reference model: lower lets the policy move further." },
                new() { Key = "dpo_label_smoothing", Label = "Label smoothing", Type = ParameterType.Number, Default = V(0.0), Min = 0, Max = 0.49, Group = "Method",
                    Help = "Conservative DPO: assumed probability that a preference label is wrong." },
            ]),
        new(TrainingAlgorithm.Grpo, "GRPO",
            "Group Relative Policy Optimization: samples several answers per prompt, scores them with reward functions, and reinforces the better ones relative to their group.",
            "Prompts with reference answers", IsImplemented: true,
            [
                .. CommonTraining(1e-6, 1), .. Lora(),
                new() { Key = "num_generations", Label = "Generations per prompt", Type = ParameterType.Integer, Default = V(4), Min = 2, Max = 64, Group = "Method",
                    Help = "Group size G: completions sampled per prompt for the relative advantage." },
                new() { Key = "grpo_beta", Label = "KL coefficient β", Type = ParameterType.Number, Default = V(0.04), Min = 0, Max = 10, Group = "Method",
                    Help = "Weight of the KL penalty to the reference model." },
                new() { Key = "max_completion_tokens", Label = "Max completion tokens", Type = ParameterType.Integer, Default = V(256), Min = 1, Max = 65536, Group = "Method",
                    Help = "Longest sampled completion." },
                new() { Key = "temperature", Label = "Sampling temperature", Type = ParameterType.Number, Default = V(0.9), Min = 0, MinExclusive = true, Max = 2, Group = "Method",
                    Help = "Temperature for sampling the group's completions." },
                new() { Key = "reward_functions", Label = "Reward functions", Type = ParameterType.List, Default = new JsonArray(V(GrpoRewardFunctions.ExactMatch)),
                    Choices = GrpoRewardFunctions.All, Group = "Method",
                    Help = "Rewards summed per completion, compared against the reference answer." },
            ]),
        new(TrainingAlgorithm.Ppo, "PPO",
            "Proximal Policy Optimization as TRL's PPOTrainer: samples answers to your prompts, scores them with reward functions against the reference answers, and updates the adapter and a value head with clipped policy and value losses, a per-token KL penalty keeping it near the base model.",
            "Prompts with reference answers", IsImplemented: true,
            [
                .. CommonTraining(1e-6, 1), .. Lora(),
                new() { Key = "reward_functions", Label = "Reward functions", Type = ParameterType.List, Default = new JsonArray(V(GrpoRewardFunctions.ExactMatch)),
                    Choices = GrpoRewardFunctions.All, Group = "Method",
                    Help = "Rewards compared against the reference answer, summed (with the weights below) into each completion's score." },
                new() { Key = "reward_weights", Label = "Reward weights", Type = ParameterType.Text, Default = V(""), Max = 200, Optional = true, Group = "Method",
                    Help = "One weight per reward function, comma-separated (e.g. 1, 0.5); blank weighs each 1." },
                new() { Key = "ppo_epochs", Label = "PPO epochs", Type = ParameterType.Integer, Default = V(4), Min = 1, Max = 100, Group = "Method",
                    Help = "Optimisation passes over each batch of rollouts." },
                new() { Key = "num_mini_batches", Label = "Minibatches", Type = ParameterType.Integer, Default = V(1), Min = 1, Max = 1024, Group = "Method",
                    Help = "Each PPO epoch splits the rollouts into this many minibatches, one optimizer update each." },
                new() { Key = "clip_range", Label = "Clip range", Type = ParameterType.Number, Default = V(0.2), Min = 0, MinExclusive = true, Max = 1, Group = "Method",
                    Help = "PPO ratio clipping ε." },
                new() { Key = "cliprange_value", Label = "Value clip range", Type = ParameterType.Number, Default = V(0.2), Min = 0, MinExclusive = true, Max = 100, Group = "Method",
                    Help = "How far the value head's estimate may move from the rollout's before its loss is clipped." },
                new() { Key = "vf_coef", Label = "Value loss coefficient", Type = ParameterType.Number, Default = V(0.1), Min = 0, Max = 10, Group = "Method",
                    Help = "Weight of the value loss beside the policy loss." },
                new() { Key = "kl_coef", Label = "KL coefficient", Type = ParameterType.Number, Default = V(0.05), Min = 0, Max = 10, Group = "Method",
                    Help = "Per-token KL penalty to the reference model (the base with the adapter disabled) in the reward." },
                new() { Key = "gamma", Label = "Discount γ", Type = ParameterType.Number, Default = V(1.0), Min = 0, Max = 1, Group = "Method",
                    Help = "Discount factor of the advantage estimate." },
                new() { Key = "lam", Label = "GAE λ", Type = ParameterType.Number, Default = V(0.95), Min = 0, Max = 1, Group = "Method",
                    Help = "Bias/variance trade-off of generalised advantage estimation." },
                new() { Key = "whiten_rewards", Label = "Whiten rewards", Type = ParameterType.Boolean, Default = V(false), Group = "Method",
                    Help = "Scale the per-token rewards to unit variance before the advantages are estimated." },
                new() { Key = "max_completion_tokens", Label = "Max completion tokens", Type = ParameterType.Integer, Default = V(256), Min = 1, Max = 65536, Group = "Method",
                    Help = "Longest sampled completion." },
                new() { Key = "temperature", Label = "Sampling temperature", Type = ParameterType.Number, Default = V(0.7), Min = 0, MinExclusive = true, Max = 2, Group = "Method",
                    Help = "Temperature for sampling the rollouts." },
            ]),
    ];

    public static AlgorithmDefinition Get(TrainingAlgorithm algorithm) => All.Single(a => a.Algorithm == algorithm);
}
