using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// The forward and backward pass of one optimizer step: the weighted loss over the step's micro-batches (detached,
/// a float32 scalar on the device), the tokens processed, and the objective's own metrics (TRL's names).
/// </summary>
public sealed record StepOutput(Tensor Loss, long Tokens, Dictionary<string, double> Metrics)
{
    /// <summary>The global gradient norm before clipping (float32 scalar; the mean over the step's updates when there are several).</summary>
    public Tensor? GradNorm { get; init; }
}

/// <summary>
/// What one algorithm trains on and how it turns a batch into gradients (as TRL has one trainer per algorithm). The
/// loop (<see cref="RunTrainer"/>) owns everything else: order, optimizer, clipping, schedule, evaluation timing,
/// checkpoints and records.
/// </summary>
/// <typeparam name="TExample">A tokenized training example: what a batch is made of.</typeparam>
public abstract class TrainingObjective<TExample> where TExample : class
{
    public abstract TrainingAlgorithm Algorithm { get; }

    /// <summary>Whether the validation split means anything to this objective.</summary>
    public virtual bool Evaluates => true;

    /// <summary>The metric <see cref="Evaluate"/>'s weighted mean is recorded as (the evaluation loss, or GRPO's and PPO's mean reward).</summary>
    public virtual string EvalMetric => MetricPoint.Keys.EvalLoss;

    /// <summary>Trainable parameters besides the adapter's (PPO's value head): optimised, and checkpointed through
    /// <see cref="SaveState"/>/<see cref="LoadState"/> with the adapter.</summary>
    public virtual IReadOnlyList<(string Name, Parameter Parameter)> ExtraParameters => [];

    /// <summary>Writes the objective's own weights into a checkpoint folder being written.</summary>
    public virtual void SaveState(string checkpointDirectory) { }

    /// <summary>Restores what <see cref="SaveState"/> wrote (resuming).</summary>
    public virtual void LoadState(string checkpointDirectory) { }

    /// <summary>A few generated texts of the last step for the log (objectives that sample), else empty.</summary>
    public virtual IReadOnlyList<string> Samples => [];

    /// <summary>The dataset row tokenized for this objective, or null when nothing is left to learn from it.</summary>
    public abstract TExample? Tokenize(DatasetExample example);

    /// <summary>
    /// Forward and backward over the micro-batches of optimizer step <paramref name="step"/> (0-based), so the LoRA
    /// parameters hold the step's gradient. Runs inside the caller's dispose scope, in train mode.
    /// </summary>
    public abstract StepOutput Backward(LoraModel lora, IReadOnlyList<IReadOnlyList<TExample>> microBatches, long step);

    /// <summary>
    /// Optimizer step <paramref name="step"/>: by default one <see cref="Backward"/> and one <paramref name="update"/>
    /// (clip, AdamW, zero the gradients; returns the gradient norm). Objectives that update several times per batch
    /// (PPO's epochs over its rollouts) override this.
    /// </summary>
    public virtual StepOutput Optimize(LoraModel lora, IReadOnlyList<IReadOnlyList<TExample>> microBatches, long step, Func<Tensor> update) =>
        Backward(lora, microBatches, step) with { GradNorm = update() };

    /// <summary>The evaluation value (<see cref="EvalMetric"/>) of one chunk of validation examples, times its weight, and
    /// that weight (the weighted mean is recorded). Runs under no_grad, in eval mode.</summary>
    public abstract (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<TExample> chunk);

    protected InvalidDataException CannotTrainOn(DatasetExample example) =>
        new($"Row {example.Index + 1} (line {example.Line}) is {example.Kind} data; {Algorithm} cannot train on it.");
}
