using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// What the loop needs to know, typed (as litgpt's <c>TrainArgs</c>): how long, how big, how fast, how often to
/// evaluate and save. The objectives read their own parameters.
/// </summary>
public sealed record TrainArgs(
    int Epochs,
    int BatchSize,
    int GradientAccumulation,
    double LearningRate,
    string Scheduler,
    double WarmupRatio,
    double WeightDecay,
    double MaxGradNorm,
    int Seed,
    int SaveEvery,
    bool SaveInSteps,
    int EvalEverySteps,
    LoraConfig Lora)
{
    public static TrainArgs From(TrainingParameters settings) => new(
        settings.Epochs, settings.BatchSize, settings.GradientAccumulation, settings.LearningRate, settings.Scheduler,
        settings.WarmupRatio, settings.WeightDecay, settings.MaxGradNorm, settings.Seed, settings.SaveEvery, settings.SaveInSteps,
        settings.EvalEverySteps, settings.Lora);

    /// <summary>Micro-batches of <see cref="BatchSize"/> in one pass over <paramref name="examples"/> (the last may be short).</summary>
    public int MicroBatchesPerEpoch(int examples) => (examples + BatchSize - 1) / BatchSize;

    /// <summary>Optimizer steps per epoch: micro-batches grouped by <see cref="GradientAccumulation"/> (the last group may be short).</summary>
    public int StepsPerEpoch(int examples) => Math.Max(1, (MicroBatchesPerEpoch(examples) + GradientAccumulation - 1) / GradientAccumulation);

    /// <summary>Whether a checkpoint is due after <paramref name="step"/>: every N steps, or at the end of every N-th epoch.</summary>
    public bool SaveDue(long step, int stepsPerEpoch) =>
        SaveInSteps ? step % SaveEvery == 0 : step % stepsPerEpoch == 0 && (step / stepsPerEpoch) % SaveEvery == 0;

    /// <summary>Whether an evaluation is due after <paramref name="step"/>: every N steps when asked, and at the end of every epoch.</summary>
    public bool EvalDue(long step, int stepsPerEpoch) =>
        (EvalEverySteps > 0 && step % EvalEverySteps == 0) || step % stepsPerEpoch == 0;
}
