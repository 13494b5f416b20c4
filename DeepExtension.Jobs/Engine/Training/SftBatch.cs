using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>A right-padded SFT batch: input ids, labels (-100 = not learned) and attention mask, each [B, T] int64.</summary>
public sealed class SftBatch : IDisposable
{
    public Tensor InputIds { get; }
    public Tensor Labels { get; }
    public Tensor AttentionMask { get; }
    /// <summary>Scored label tokens (host count, for token-weighted accumulation; see <see cref="GradientAccumulation"/>).</summary>
    public long LabelTokens { get; }

    SftBatch(Tensor ids, Tensor labels, Tensor mask, long tokens)
    {
        InputIds = ids; Labels = labels; AttentionMask = mask; LabelTokens = tokens;
    }

    /// <summary>
    /// Pads <paramref name="examples"/> on the right to the longest (truncating at <paramref name="maxLength"/>):
    /// pad id in the ids, -100 in the labels, 0 in the mask. The tensors are built on the host and moved to
    /// <paramref name="device"/> once.
    /// </summary>
    public static SftBatch Collate(IReadOnlyList<SupervisedExample> examples, long padTokenId, Device? device = null, int? maxLength = null)
    {
        if (examples.Count == 0) throw new ArgumentException("empty batch", nameof(examples));
        int t = examples.Max(e => e.InputIds.Length);
        if (maxLength is { } max) t = Math.Min(t, max);
        int b = examples.Count;
        var ids = new long[b * t];
        var labels = new long[b * t];
        var mask = new long[b * t];
        long tokens = 0;
        for (int i = 0; i < b; i++)
        {
            var e = examples[i];
            int n = Math.Min(e.InputIds.Length, t);
            for (int j = 0; j < t; j++)
            {
                bool real = j < n;
                ids[i * t + j] = real ? e.InputIds[j] : padTokenId;
                labels[i * t + j] = real ? e.Labels[j] : CausalLMLoss.IgnoreIndex;
                mask[i * t + j] = real ? 1 : 0;
                if (real && j > 0 && e.Labels[j] != CausalLMLoss.IgnoreIndex) tokens++;
            }
        }
        device ??= torch.CPU;
        return new SftBatch(
            torch.tensor(ids, [b, t]).to(device).DetachFromDisposeScope(),
            torch.tensor(labels, [b, t]).to(device).DetachFromDisposeScope(),
            torch.tensor(mask, [b, t]).to(device).DetachFromDisposeScope(),
            tokens);
    }

    /// <summary>
    /// The causal-LM loss of this batch, without an attention mask: the batch is right-padded, so every pad comes after
    /// every real token of its row and, attention being causal, no scored token attends to a pad. SDPA's causal flag
    /// alone is then exact for every scored token, and lets CUDA use its flash kernels, which an explicit mask rules
    /// out. (Pad positions attend to earlier pads then; they are neither scored nor attended to.)
    /// </summary>
    public Tensor Loss(ForCausalLM model) => model.Loss(InputIds, Labels);

    public void Dispose()
    {
        InputIds.Dispose(); Labels.Dispose(); AttentionMask.Dispose();
    }
}
