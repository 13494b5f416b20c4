namespace DeepExtension.Jobs.Engine.Training;

/// <summary>
/// How micro-batch losses are weighted when gradients are accumulated over several of them before one optimizer step.
/// The choice here is <b>token-weighted</b>: each micro-batch's mean loss is multiplied by
/// <c>its label tokens / label tokens of the whole accumulated batch</c>, so the accumulated gradient is exactly the
/// gradient of the mean loss over every label token of the accumulated batch, as if it were one batch (transformers'
/// Trainer does the same through <c>num_items_in_batch</c>). A micro-batch with few answer tokens therefore counts less
/// than with <see cref="Uniform"/> (1/accumulation, the older behaviour). Token counts come from the label arrays on
/// the host, so weighting needs no device synchronisation.
/// </summary>
public static class GradientAccumulation
{
    /// <summary>Label tokens of a [B, T] label array (labels of the first position are never scored, as the model shifts).</summary>
    public static long LabelTokens(IEnumerable<int[]> labelRows) =>
        labelRows.Sum(row => (long)row.Skip(1).Count(l => l != Model.CausalLMLoss.IgnoreIndex));

    /// <summary>Loss multipliers for micro-batches with <paramref name="labelTokens"/> scored tokens each (sum to 1).</summary>
    public static double[] TokenWeighted(IReadOnlyList<long> labelTokens)
    {
        long total = labelTokens.Sum();
        if (total <= 0) return labelTokens.Select(_ => 0.0).ToArray();
        return labelTokens.Select(n => (double)n / total).ToArray();
    }

    /// <summary>1/accumulation for every micro-batch.</summary>
    public static double[] Uniform(int accumulationSteps) => Enumerable.Repeat(1.0 / accumulationSteps, accumulationSteps).ToArray();
}
