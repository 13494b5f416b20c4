using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>DPO values of one batch: mean loss (float32 scalar, differentiable), per-pair rewards and log-probs.</summary>
public sealed record DpoOutput(Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards,
                               Tensor PolicyChosenLogps, Tensor PolicyRejectedLogps, Tensor ReferenceChosenLogps, Tensor ReferenceRejectedLogps);

/// <summary>
/// Direct Preference Optimisation with TRL's sigmoid loss. The reference model is the same model with its LoRA
/// adapters disabled, evaluated under <c>no_grad</c>.
/// </summary>
public static class Dpo
{
    /// <summary>
    /// Summed log-probabilities [B] (float32) of the labelled tokens: Σₜ log p(labels[t] | tokens &lt; t) over every t
    /// with <c>labels[t] != -100</c> (labels = input ids with prompt and padding set to -100). Logits are upcast to
    /// float32 one sequence at a time.
    /// </summary>
    public static Tensor SequenceLogProbs(ForCausalLM model, Tensor inputIds, Tensor labels, Tensor? attentionMask = null)
    {
        using var scope = torch.NewDisposeScope();
        return TokenLogProbs(model, inputIds, labels, attentionMask).LogProbs.sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-token log-probabilities [B, T-1] (float32) of <c>labels[:, 1:]</c> given the tokens before them, 0 where the
    /// label is -100, and that mask as float32 [B, T-1]. Logits are divided by <paramref name="temperature"/> first
    /// (GRPO scores the distribution it sampled from) and upcast to float32 one sequence at a time.
    /// </summary>
    public static (Tensor LogProbs, Tensor Mask) TokenLogProbs(ForCausalLM model, Tensor inputIds, Tensor labels, Tensor? attentionMask = null, double temperature = 1.0)
    {
        using var scope = torch.NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var hidden = model.Hidden(inputIds, attentionMask).narrow(1, 0, t - 1);       // [B, T-1, H]
        var targets = labels.narrow(1, 1, t - 1).to(ScalarType.Int64, inputIds.device); // [B, T-1]
        var valid = targets.ne(CausalLMLoss.IgnoreIndex);
        var safe = targets.masked_fill(valid.logical_not(), 0).unsqueeze(2);            // [B, T-1, 1]
        var rows = new List<Tensor>();
        for (long i = 0; i < b; i++)
        {
            var logits = model.Logits(hidden.narrow(0, i, 1)).to(ScalarType.Float32);  // [1, T-1, V]
            if (temperature != 1.0) logits = logits / temperature;
            var picked = logits.gather(2, safe.narrow(0, i, 1)).squeeze(2) - logits.logsumexp(2); // [1, T-1]
            rows.Add(picked * valid.narrow(0, i, 1));
        }
        var mask = valid.to(ScalarType.Float32);
        return (torch.cat(rows, 0).MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// TRL's sigmoid DPO loss, mean over pairs: with <c>z = β·((πc − πr) − (refc − refr))</c>,
    /// <c>−(1−ε)·logσ(z) − ε·logσ(−z)</c> (ε = label smoothing, conservative DPO). Rewards are <c>β·(π − ref)</c>, detached.
    /// </summary>
    public static (Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards) SigmoidLoss(
        Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected, double beta, double labelSmoothing = 0)
    {
        using var scope = torch.NewDisposeScope();
        var logits = (policyChosen - policyRejected) - (referenceChosen - referenceRejected);
        var losses = -nn.functional.logsigmoid(logits * beta) * (1 - labelSmoothing) - nn.functional.logsigmoid(logits * -beta) * labelSmoothing;
        var chosen = ((policyChosen - referenceChosen) * beta).detach();
        var rejected = ((policyRejected - referenceRejected) * beta).detach();
        return (losses.mean().MoveToOuterDisposeScope(), chosen.MoveToOuterDisposeScope(), rejected.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The DPO values of a batch of pairs (chosen and rejected each [B, T] with labels = completion tokens). Policy =
    /// <paramref name="lora"/>'s model with its adapters; reference = adapters disabled, under no_grad. Call
    /// <c>Loss.backward()</c> for the LoRA gradients. No host synchronisation.
    /// </summary>
    public static DpoOutput Compute(LoraModel lora,
        Tensor chosenIds, Tensor chosenLabels, Tensor? chosenMask,
        Tensor rejectedIds, Tensor rejectedLabels, Tensor? rejectedMask,
        double beta, double labelSmoothing = 0)
    {
        Tensor refChosen, refRejected;
        using (torch.no_grad())
        using (lora.DisableAdapters())
        {
            refChosen = SequenceLogProbs(lora.Model, chosenIds, chosenLabels, chosenMask);
            refRejected = SequenceLogProbs(lora.Model, rejectedIds, rejectedLabels, rejectedMask);
        }
        var policyChosen = SequenceLogProbs(lora.Model, chosenIds, chosenLabels, chosenMask);
        var policyRejected = SequenceLogProbs(lora.Model, rejectedIds, rejectedLabels, rejectedMask);
        var (loss, chosen, rejected) = SigmoidLoss(policyChosen, policyRejected, refChosen, refRejected, beta, labelSmoothing);
        return new DpoOutput(loss, chosen, rejected, policyChosen, policyRejected, refChosen, refRejected);
    }

    /// <summary>Labels for a sequence whose first <paramref name="promptLength"/> tokens are the prompt: ids with the prompt
    /// (and positions where <paramref name="attentionMask"/> is 0) set to -100.</summary>
    public static Tensor CompletionLabels(Tensor inputIds, long promptLength, Tensor? attentionMask = null)
    {
        using var scope = torch.NewDisposeScope();
        var labels = inputIds.clone();
        labels.narrow(1, 0, Math.Min(promptLength, inputIds.shape[1])).fill_(CausalLMLoss.IgnoreIndex);
        if (attentionMask is not null) labels = labels.masked_fill(attentionMask.eq(0), CausalLMLoss.IgnoreIndex);
        return labels.MoveToOuterDisposeScope();
    }
}
