using DeepExtension.Jobs.Engine.Generation;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>One sampled completion: its tokens (ending with the stop token when one ended it, since the model must
/// learn to stop) and the text without the stop token.</summary>
public sealed record GrpoCompletion(int[] TokenIds, bool Stopped)
{
    /// <summary>The generated tokens without the stop token (what rewards read).</summary>
    public IEnumerable<int> TextTokenIds => Stopped ? TokenIds.Take(TokenIds.Length - 1) : TokenIds;
}

/// <summary>GRPO values of one batch of completions: mean loss (float32 scalar, differentiable) and, detached, the mean
/// per-completion KL to the reference and the number of completion tokens.</summary>
public sealed record GrpoOutput(Tensor Loss, Tensor MeanKl, long CompletionTokens);

/// <summary>
/// Group Relative Policy Optimization as TRL's GRPOTrainer with one policy update per generation batch: the old
/// policy is the current one, so the importance ratio is exactly 1 (its gradient is that of log π) and no clipping
/// applies. The reference is the same model with its LoRA adapters disabled, under <c>no_grad</c>.
/// </summary>
public static class Grpo
{
    /// <summary>TRL adds this to the group's standard deviation so that equal rewards give advantage 0, not NaN.</summary>
    public const double StdEpsilon = 1e-4;

    /// <summary>
    /// Group-normalised advantages <c>(rᵢ − mean) / (std + 1e-4)</c> over consecutive groups of
    /// <paramref name="groupSize"/> rewards, and each group's std. The std is the unbiased sample std (n − 1), as
    /// TRL's <c>torch.std</c>.
    /// </summary>
    public static (double[] Advantages, double[] GroupStd) Advantages(IReadOnlyList<double> rewards, int groupSize)
    {
        if (groupSize < 2) throw new ArgumentOutOfRangeException(nameof(groupSize), "a group needs at least two completions");
        if (rewards.Count % groupSize != 0) throw new ArgumentException($"{rewards.Count} rewards are not whole groups of {groupSize}", nameof(rewards));
        var advantages = new double[rewards.Count];
        var stds = new double[rewards.Count / groupSize];
        for (int g = 0; g < stds.Length; g++)
        {
            var group = Enumerable.Range(g * groupSize, groupSize).Select(i => rewards[i]).ToArray();
            var mean = group.Average();
            var std = Math.Sqrt(group.Sum(r => (r - mean) * (r - mean)) / (groupSize - 1));
            stds[g] = std;
            for (int i = 0; i < groupSize; i++) advantages[g * groupSize + i] = (group[i] - mean) / (std + StdEpsilon);
        }
        return (advantages, stds);
    }

    /// <summary>
    /// The GRPO loss from per-token log-probs of the policy and the reference [B, L], advantages [B] and the completion
    /// mask [B, L] (1 on completion tokens): per token <c>−(exp(logp − logp.detach())·A − β·KL)</c> with the k3
    /// estimator <c>KL = exp(ref − logp) − (ref − logp) − 1</c>, averaged over each completion's tokens, then over
    /// completions (TRL's original "grpo" normalisation). Also returns the mean per-completion KL (detached).
    /// </summary>
    public static (Tensor Loss, Tensor MeanKl) Loss(Tensor policyLogps, Tensor referenceLogps, Tensor advantages, Tensor mask, double beta)
    {
        using var scope = torch.NewDisposeScope();
        var delta = referenceLogps - policyLogps;
        var kl = delta.exp() - delta - 1;
        // Equal to A in value; its gradient is A·∇logp (the policy-gradient term with ratio 1).
        var ratio = (policyLogps - policyLogps.detach()).exp();
        var perToken = -(ratio * advantages.unsqueeze(1) - kl * beta);
        var lengths = mask.sum(1).clamp_min(1);
        var loss = ((perToken * mask).sum(1) / lengths).mean();
        var meanKl = ((kl * mask).sum(1) / lengths).mean().detach();
        return (loss.MoveToOuterDisposeScope(), meanKl.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Samples <paramref name="count"/> completions of <paramref name="promptIds"/> with the model as it is (adapters
    /// enabled), in one batched generation seeded with <paramref name="seed"/>, so a run repeats.
    /// </summary>
    public static List<GrpoCompletion> Sample(ForCausalLM model, IReadOnlyList<long> promptIds, int count, GenerationOptions options, long seed) =>
        Sample(model, [promptIds], count, options, seed);

    /// <summary>
    /// Samples <paramref name="count"/> completions of each of <paramref name="prompts"/> (prompt p's are at
    /// p·count … p·count + count − 1) in one batched generation seeded with <paramref name="seed"/>.
    /// </summary>
    public static List<GrpoCompletion> Sample(ForCausalLM model, IReadOnlyList<IReadOnlyList<long>> prompts, int count, GenerationOptions options, long seed)
    {
        var wasTraining = model.training;
        model.eval(); // no dropout while sampling
        try
        {
            var batch = prompts.SelectMany(p => Enumerable.Repeat(p, count)).ToList();
            return BatchGenerator.Generate(model, batch, options with { Seed = seed })
                .Select(s => new GrpoCompletion([.. s.TokenIdsWithStop.Select(id => (int)id)], s.StopTokenId is not null))
                .ToList();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// The GRPO loss of prompt + completion sequences (prompt tokens are context, completion tokens are scored) with
    /// their advantages. Call <c>Loss.backward()</c> for the LoRA gradients.
    /// </summary>
    public static GrpoOutput Compute(LoraModel lora, IReadOnlyList<(int[] Prompt, int[] Completion)> sequences, IReadOnlyList<double> advantages,
        double beta, double temperature, long padTokenId, Device device)
    {
        if (sequences.Count != advantages.Count) throw new ArgumentException("one advantage per sequence", nameof(advantages));
        var examples = sequences.Select(s => new SupervisedExample(
            [.. s.Prompt, .. s.Completion],
            [.. Enumerable.Repeat(SupervisedExample.IgnoreIndex, s.Prompt.Length), .. s.Completion])).ToList();
        using var batch = SftBatch.Collate(examples, padTokenId, device);
        using var scope = torch.NewDisposeScope();
        Tensor reference;
        using (torch.no_grad())
        using (lora.DisableAdapters())
        {
            reference = Dpo.TokenLogProbs(lora.Model, batch.InputIds, batch.Labels, batch.AttentionMask, temperature).LogProbs;
        }
        var (policy, mask) = Dpo.TokenLogProbs(lora.Model, batch.InputIds, batch.Labels, batch.AttentionMask, temperature);
        var advantage = torch.tensor(advantages.ToArray(), ScalarType.Float32, device);
        var (loss, kl) = Loss(policy, reference, advantage, mask, beta);
        return new GrpoOutput(loss.MoveToOuterDisposeScope(), kl.MoveToOuterDisposeScope(), sequences.Sum(s => (long)s.Completion.Length));
    }
}
