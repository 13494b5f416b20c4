using DeepExtension.Core.Datasets;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>Supervised fine-tuning: causal-LM loss on the labelled tokens, micro-batches weighted by their label tokens.
/// With <paramref name="packing"/> a micro-batch's examples are laid end to end (<see cref="PackedBatch"/>) instead of padded.</summary>
public sealed class SftObjective(TrainingData data, int padId, Device device, bool packing = false) : TrainingObjective<SupervisedExample>
{
    public override TrainingAlgorithm Algorithm => TrainingAlgorithm.Sft;

    public override SupervisedExample? Tokenize(DatasetExample example) =>
        example is SftExample sft ? data.Sft(sft) : throw CannotTrainOn(example);

    public override StepOutput Backward(LoraModel lora, IReadOnlyList<IReadOnlyList<SupervisedExample>> microBatches, long step)
    {
        // Token-weighted, so the step's loss is the mean over every label token of the step, as one big batch would give.
        var weights = GradientAccumulation.TokenWeighted(microBatches.Select(g => g.Sum(TrainingData.LabelCount)).ToList());
        var lossSum = zeros(1, dtype: ScalarType.Float32, device: device);
        long tokens = 0;
        for (var i = 0; i < microBatches.Count; i++)
        {
            tokens += microBatches[i].Sum(e => e.InputIds.Length);
            var loss = Loss(lora, microBatches[i]);
            (loss * weights[i]).backward();
            lossSum += loss.detach() * weights[i];
        }
        return new StepOutput(lossSum, tokens, new Dictionary<string, double>(StringComparer.Ordinal));
    }

    public override (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<SupervisedExample> chunk)
    {
        var labelTokens = chunk.Sum(TrainingData.LabelCount);
        return (Loss(lora, chunk).item<float>() * labelTokens, labelTokens);
    }

    /// <summary>The mean loss over the label tokens of <paramref name="examples"/>, packed or padded (the same value).</summary>
    private Tensor Loss(LoraModel lora, IReadOnlyList<SupervisedExample> examples)
    {
        if (packing)
        {
            using var packed = PackedBatch.Pack(examples, padId, device: device);
            return packed.Loss(lora.Model);
        }
        using var padded = SftBatch.Collate(examples, padId, device);
        return padded.Loss(lora.Model);
    }
}
