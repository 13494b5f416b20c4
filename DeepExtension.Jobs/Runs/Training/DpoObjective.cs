using DeepExtension.Core.Datasets;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Training;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>DPO with TRL's sigmoid loss against the adapter-disabled model; micro-batches weigh equally.</summary>
public sealed class DpoObjective(TrainingData data, int padId, Device device, double beta, double labelSmoothing) : TrainingObjective<TokenizedPair>
{
    public override TrainingAlgorithm Algorithm => TrainingAlgorithm.Dpo;

    public override TokenizedPair? Tokenize(DatasetExample example) =>
        example is PreferenceExample pair ? data.Preference(pair) : throw CannotTrainOn(example);

    public override StepOutput Backward(LoraModel lora, IReadOnlyList<IReadOnlyList<TokenizedPair>> microBatches, long step)
    {
        var lossSum = zeros(1, dtype: ScalarType.Float32, device: device);
        long tokens = 0;
        Tensor chosenRewards = zeros(0, device: device), rejectedRewards = zeros(0, device: device);
        Tensor chosenLogps = zeros(0, device: device), rejectedLogps = zeros(0, device: device);
        var weight = 1.0 / microBatches.Count;
        foreach (var pairs in microBatches)
        {
            tokens += pairs.Sum(p => p.Chosen.InputIds.Length + p.Rejected.InputIds.Length);
            var (chosen, rejected) = Collate(pairs);
            using var chosenBatch = chosen;
            using var rejectedBatch = rejected;
            var output = Compute(lora, chosen, rejected);
            (output.Loss * weight).backward();
            lossSum += output.Loss.detach() * weight;
            chosenRewards = cat([chosenRewards, output.ChosenRewards.to(ScalarType.Float32)]);
            rejectedRewards = cat([rejectedRewards, output.RejectedRewards.to(ScalarType.Float32)]);
            chosenLogps = cat([chosenLogps, output.PolicyChosenLogps.detach()]);
            rejectedLogps = cat([rejectedLogps, output.PolicyRejectedLogps.detach()]);
        }
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["rewards/chosen"] = chosenRewards.mean().item<float>(),
            ["rewards/rejected"] = rejectedRewards.mean().item<float>(),
            ["rewards/margins"] = (chosenRewards - rejectedRewards).mean().item<float>(),
            ["rewards/accuracies"] = chosenRewards.gt(rejectedRewards).to(ScalarType.Float32).mean().item<float>(),
            ["logps/chosen"] = chosenLogps.mean().item<float>(),
            ["logps/rejected"] = rejectedLogps.mean().item<float>(),
        };
        return new StepOutput(lossSum, tokens, metrics);
    }

    public override (double Loss, double Weight) Evaluate(LoraModel lora, IReadOnlyList<TokenizedPair> chunk)
    {
        var (chosen, rejected) = Collate(chunk);
        using (chosen)
        using (rejected)
        {
            return (Compute(lora, chosen, rejected).Loss.item<float>() * chunk.Count, chunk.Count);
        }
    }

    private (SftBatch Chosen, SftBatch Rejected) Collate(IReadOnlyList<TokenizedPair> pairs) =>
        (SftBatch.Collate(pairs.Select(p => p.Chosen).ToList(), padId, device),
         SftBatch.Collate(pairs.Select(p => p.Rejected).ToList(), padId, device));

    private DpoOutput Compute(LoraModel lora, SftBatch chosen, SftBatch rejected) =>
        Dpo.Compute(lora, chosen.InputIds, chosen.Labels, chosen.AttentionMask,
            rejected.InputIds, rejected.Labels, rejected.AttentionMask, beta, labelSmoothing);
}
