using DeepExtension.Core.Datasets;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// The forward and backward pass of one optimizer step: the weighted loss over the step's micro-batches (detached,
/// a float32 scalar on the device), the tokens processed, and the objective's own metrics (TRL's names).
/// </summary>
public sealed record StepOutput(Tensor Loss, long Tokens, Dictionary<string, double> Metrics);

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

    /// <summary>A few generated texts of the last step for the log (objectives that sample), else empty.</summary>
    public virtual IReadOnlyList<string> Samples => [];

    /// <summary>The dataset row tokenized for this objective, or null when nothing is left to learn from it.</summary>
    public abstract TExample? Tokenize(DatasetExample example);

    /// <summary>
    /// Forward and backward over the micro-batches of optimizer step <paramref name="step"/> (0-based), so the LoRA
    /// parameters hold the step's gradient. Runs inside the caller's dispose scope, in train mode.
    /// </summary>
    public abstract StepOutput Backward(LoraModel lora, IReadOnlyList<IReadOnlyList<TExample>> microBatches, long step);

    /// <summary>The evaluation loss of one chunk of validation examples and its weight (the weighted mean is the
    /// evaluation loss). Runs under no_grad, in eval mode.</summary>
    public abstract (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<TExample> chunk);

    protected InvalidDataException CannotTrainOn(DatasetExample example) =>
        new($"Row {example.Index + 1} (line {example.Line}) is {example.Kind} data; {Algorithm} cannot train on it.");
}
