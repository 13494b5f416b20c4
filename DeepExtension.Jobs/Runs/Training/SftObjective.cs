using DeepExtension.Core.Datasets;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>Supervised fine-tuning: causal-LM loss on the labelled tokens, micro-batches weighted by their label tokens.</summary>
public sealed class SftObjective(TrainingData data, int padId, Device device) : TrainingObjective<SupervisedExample>
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
            using var batch = SftBatch.Collate(microBatches[i], padId, device);
            tokens += microBatches[i].Sum(e => e.InputIds.Length);
            var loss = batch.Loss(lora.Model);
            (loss * weights[i]).backward();
            lossSum += loss.detach() * weights[i];
        }
        return new StepOutput(lossSum, tokens, new Dictionary<string, double>(StringComparer.Ordinal));
    }

    public override (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<SupervisedExample> chunk)
    {
        using var batch = SftBatch.Collate(chunk, padId, device);
        return (batch.Loss(lora.Model).item<float>() * batch.LabelTokens, batch.LabelTokens);
    }
}
