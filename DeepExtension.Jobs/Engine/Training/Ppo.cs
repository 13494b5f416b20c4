using DeepExtension.Jobs.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>The clipped policy loss of a minibatch and its detached diagnostics (TRL's policy/clipfrac, policy/approxkl).</summary>
public sealed record PpoPolicyLoss(Tensor Loss, Tensor ClipFraction, Tensor ApproxKl);

/// <summary>The clipped value loss of a minibatch and the fraction of tokens where clipping decided it (val/clipfrac).</summary>
public sealed record PpoValueLoss(Tensor Loss, Tensor ClipFraction);

/// <summary>Per-token log-probs, values and the completion mask of a batch of prompt + completion sequences, each [B, T-1].</summary>
public sealed record PpoForward(Tensor LogProbs, Tensor Values, Tensor Mask);

/// <summary>
/// The pieces of PPO as TRL's PPOTrainer computes them, as pure functions of tensors. Every tensor is [B, L] over token
/// positions with a float mask (1 on completion tokens); per-token rewards carry the KL penalty to the reference and,
/// on each completion's last token, its score.
/// </summary>
public static class Ppo
{
    /// <summary>TRL's <c>masked_mean</c>: the mean of <paramref name="values"/> where <paramref name="mask"/> is 1.</summary>
    public static Tensor MaskedMean(Tensor values, Tensor mask) => (values * mask).sum() / mask.sum();

    /// <summary>TRL's <c>masked_var</c>: the unbiased variance (Bessel's n/(n−1)) where <paramref name="mask"/> is 1.</summary>
    public static Tensor MaskedVar(Tensor values, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var mean = MaskedMean(values, mask);
        var centered = values - mean;
        var variance = MaskedMean(centered * centered, mask);
        var count = mask.sum();
        return (variance * count / (count - 1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// TRL's <c>masked_whiten</c>: <c>(x − mean)/√(var + 1e-8)</c> with the masked mean and unbiased variance; with
    /// <paramref name="shiftMean"/> false the mean is added back (only the scale changes, as for rewards).
    /// </summary>
    public static Tensor MaskedWhiten(Tensor values, Tensor mask, bool shiftMean = true)
    {
        using var scope = torch.NewDisposeScope();
        var mean = MaskedMean(values, mask);
        var whitened = (values - mean) * (MaskedVar(values, mask) + 1e-8).rsqrt();
        if (!shiftMean) whitened = whitened + mean;
        return whitened.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-token rewards [B, L]: <c>−kl_coef·(logp − ref)</c> on completion tokens (TRL's k1 estimate) plus each row's
    /// score on its last completion token; 0 elsewhere. Also the per-token KL (masked) and the non-score part.
    /// </summary>
    public static (Tensor Rewards, Tensor Kl, Tensor NonScore) Rewards(Tensor logProbs, Tensor referenceLogProbs, Tensor scores, Tensor mask, double klCoef)
    {
        using var scope = torch.NewDisposeScope();
        var kl = (logProbs - referenceLogProbs) * mask;
        var nonScore = -klCoef * kl;
        // The last completion position of each row: the highest index whose mask is 1.
        var positions = torch.arange(mask.shape[1], dtype: ScalarType.Float32, device: mask.device).unsqueeze(0);
        var last = (positions * mask).argmax(1, keepdim: true);                                        // [B, 1]
        var rewards = nonScore.scatter_add(1, last, scores.to(nonScore.dtype).unsqueeze(1));
        return (rewards.MoveToOuterDisposeScope(), kl.MoveToOuterDisposeScope(), nonScore.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Generalised advantage estimation over the positions of [B, L] rewards and values (both 0 outside completions, so
    /// a completion's last token sees next value 0): <c>δₜ = rₜ + γ·Vₜ₊₁ − Vₜ</c>, <c>Aₜ = δₜ + γλ·Aₜ₊₁</c>;
    /// returns = A + V. The advantages are then whitened over the mask and zeroed outside it, as TRL does.
    /// </summary>
    public static (Tensor Advantages, Tensor Returns) Gae(Tensor rewards, Tensor values, Tensor mask, double gamma, double lambda)
    {
        using var scope = torch.NewDisposeScope();
        long length = rewards.shape[1];
        var columns = new Tensor[length];
        Tensor next = torch.zeros_like(rewards.select(1, 0));
        Tensor lastGae = torch.zeros_like(next);
        for (long t = length - 1; t >= 0; t--)
        {
            var value = values.select(1, t);
            var delta = rewards.select(1, t) + gamma * next - value;
            lastGae = delta + gamma * lambda * lastGae;
            columns[t] = lastGae;
            next = value;
        }
        var advantages = torch.stack(columns, 1);
        var returns = advantages + values;
        advantages = MaskedWhiten(advantages, mask) * mask;
        return (advantages.MoveToOuterDisposeScope(), returns.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// TRL's clipped surrogate: with <c>ratio = exp(logp − old)</c>, per token <c>max(−A·ratio, −A·clip(ratio, 1±ε))</c>,
    /// averaged over the mask. clipfrac is the share of tokens where the clipped term is the larger;
    /// approxkl is <c>½·mean((logp − old)²)</c> over the mask.
    /// </summary>
    public static PpoPolicyLoss PolicyLoss(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double clipRange)
    {
        using var scope = torch.NewDisposeScope();
        var diff = logProbs - oldLogProbs;
        var ratio = diff.exp();
        var unclipped = -advantages * ratio;
        var clipped = -advantages * ratio.clamp(1 - clipRange, 1 + clipRange);
        var loss = MaskedMean(torch.maximum(unclipped, clipped), mask);
        var clipFraction = MaskedMean(clipped.gt(unclipped).to(ScalarType.Float32), mask).detach();
        var approxKl = (0.5 * MaskedMean(diff * diff, mask)).detach();
        return new PpoPolicyLoss(loss.MoveToOuterDisposeScope(), clipFraction.MoveToOuterDisposeScope(), approxKl.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// TRL's clipped value loss: <c>½·mean(max((V − R)², (V_old + clip(V − V_old, ±ε_v) − R)²))</c> over the mask, and
    /// the share of tokens where the clipped term is the larger.
    /// </summary>
    public static PpoValueLoss ValueLoss(Tensor values, Tensor oldValues, Tensor returns, Tensor mask, double clipRangeValue)
    {
        using var scope = torch.NewDisposeScope();
        var clippedValues = oldValues + (values - oldValues).clamp(-clipRangeValue, clipRangeValue);
        var unclipped = (values - returns).square();
        var clipped = (clippedValues - returns).square();
        var loss = 0.5 * MaskedMean(torch.maximum(unclipped, clipped), mask);
        var clipFraction = MaskedMean(clipped.gt(unclipped).to(ScalarType.Float32), mask).detach();
        return new PpoValueLoss(loss.MoveToOuterDisposeScope(), clipFraction.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// One forward pass of the policy over right-padded prompt + completion sequences: per position t the log-prob of
    /// token t+1 (logits divided by <paramref name="temperature"/>, float32, one sequence at a time) and the value head's
    /// estimate on the hidden state at t (the state before the token is chosen), both [B, T-1] and 0 where
    /// <paramref name="labels"/> is -100; and that mask.
    /// </summary>
    public static PpoForward Forward(ForCausalLM model, ValueHead valueHead, Tensor inputIds, Tensor labels, Tensor attentionMask, double temperature)
    {
        using var scope = torch.NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var hidden = model.Hidden(inputIds, attentionMask).narrow(1, 0, t - 1);           // [B, T-1, H]
        var targets = labels.narrow(1, 1, t - 1).to(ScalarType.Int64, inputIds.device);  // [B, T-1]
        var valid = targets.ne(CausalLMLoss.IgnoreIndex);
        var mask = valid.to(ScalarType.Float32);
        var safe = targets.masked_fill(valid.logical_not(), 0).unsqueeze(2);
        var rows = new List<Tensor>();
        for (long i = 0; i < b; i++)
        {
            var logits = model.Logits(hidden.narrow(0, i, 1)).to(ScalarType.Float32);      // [1, T-1, V]
            if (temperature != 1.0) logits = logits / temperature;
            rows.Add(logits.gather(2, safe.narrow(0, i, 1)).squeeze(2) - logits.logsumexp(2));
        }
        var logProbs = torch.cat(rows, 0) * mask;
        var values = valueHead.forward(hidden) * mask;
        return new PpoForward(logProbs.MoveToOuterDisposeScope(), values.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }
}
