using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// Causal language-model loss exactly as transformers computes it: the prediction at position t is scored
/// against <c>labels[t + 1]</c>, labels equal to <see cref="IgnoreIndex"/> (-100) are skipped, and the result is
/// the mean cross-entropy (float32) over the remaining tokens of the whole batch.
/// </summary>
public static class CausalLMLoss
{
    public const long IgnoreIndex = -100;

    /// <summary>Full-vocabulary float32 elements per chunk (64 M elements = 256 MB).</summary>
    const long ChunkElements = 64L << 20;

    static long DefaultChunk(long vocab) => Math.Max(16, ChunkElements / Math.Max(1, vocab));

    /// <summary>
    /// Loss from logits [B, T, V] (any float dtype; each chunk is upcast to float32 on its own) and labels [B, T].
    /// </summary>
    public static Tensor FromLogits(Tensor logits, Tensor labels, long? chunkTokens = null)
    {
        using var scope = torch.NewDisposeScope();
        long v = logits.shape[^1];
        var (flat, targets) = Shift(logits, labels);                             // [N, V], [N]
        long n = flat.shape[0], chunk = chunkTokens ?? DefaultChunk(v);
        var total = torch.zeros([], ScalarType.Float32, logits.device);
        for (long start = 0; start < n; start += chunk)
        {
            long len = Math.Min(chunk, n - start);
            var part = nn.functional.cross_entropy(flat.narrow(0, start, len).to(ScalarType.Float32), targets.narrow(0, start, len),
                ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
            total = total + part;
        }
        return (total / CountOf(targets)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loss from final hidden states [B, T, H] and the output projection <paramref name="weight"/> [V, H], without
    /// ever holding the [B·T, V] logits: they are computed chunk by chunk (each upcast to float32) and dropped.
    /// When gradients are needed, each chunk's gradient with respect to the hidden states (and the weight, if it
    /// requires grad) is computed right there, and the returned loss carries exactly those gradients
    /// (<c>loss + (s - s.detach())</c> with <c>s = Σ hidden·g_h + Σ weight·g_w</c>), so backward never needs the
    /// logits. First-order gradients only (no double backward).
    /// </summary>
    public static Tensor FromHidden(Tensor hidden, Tensor weight, Tensor labels, long? chunkTokens = null)
    {
        using var scope = torch.NewDisposeScope();
        long h = hidden.shape[^1], v = weight.shape[0];
        var (flat, targets) = Shift(hidden, labels);                             // [N, H], [N]
        long n = flat.shape[0], chunk = chunkTokens ?? DefaultChunk(v);
        var count = CountOf(targets);                                            // float32 scalar, stays on device
        bool gradHidden = torch.is_grad_enabled() && hidden.requires_grad;
        bool gradWeight = torch.is_grad_enabled() && weight.requires_grad;

        Tensor total, gH, gW;
        using (torch.no_grad())
        {
            total = torch.zeros([], ScalarType.Float32, hidden.device);
            gH = gradHidden ? torch.empty_like(flat) : torch.empty(0);
            gW = gradWeight ? torch.zeros([v, h], ScalarType.Float32, weight.device) : torch.empty(0);
            for (long start = 0; start < n; start += chunk)
            {
                using var chunkScope = torch.NewDisposeScope();
                long len = Math.Min(chunk, n - start);
                var x = flat.narrow(0, start, len);                                         // [n, H]
                var y = targets.narrow(0, start, len);                                      // [n]
                var logits = nn.functional.linear(x, weight).to(ScalarType.Float32);       // [n, V]
                var valid = y.ne(IgnoreIndex);                                              // [n]
                var safeY = y.masked_fill(valid.logical_not(), 0).unsqueeze(1);             // [n, 1]
                var lse = logits.logsumexp(1);                                              // [n]
                var picked = logits.gather(1, safeY).squeeze(1);                            // [n]
                total.add_(((lse - picked) * valid).sum());
                if (gradHidden || gradWeight)
                {
                    // d loss / d logits = (softmax - onehot(label)) / count on valid rows, 0 elsewhere
                    var g = logits.sub_(lse.unsqueeze(1)).exp_();                           // softmax, in place
                    g.scatter_add_(1, safeY, torch.full([len, 1], -1.0f, ScalarType.Float32, g.device));
                    g.mul_((valid.to(ScalarType.Float32) / count).unsqueeze(1));
                    var gLow = g.to(weight.dtype);                                          // as autograd would: logits dtype
                    if (gradHidden) gH.narrow(0, start, len).copy_(gLow.matmul(weight));   // [n, H]
                    if (gradWeight) gW.add_(gLow.t().matmul(x).to(ScalarType.Float32));    // [V, H]
                }
            }
            total.div_(count);
        }
        if (!gradHidden && !gradWeight) return total.MoveToOuterDisposeScope();

        Tensor surrogate = torch.zeros([], ScalarType.Float32, hidden.device);
        if (gradHidden) surrogate = surrogate + (flat * gH).sum().to(ScalarType.Float32);
        if (gradWeight) surrogate = surrogate + (weight * gW.to(weight.dtype)).sum().to(ScalarType.Float32);
        return (total + (surrogate - surrogate.detach())).MoveToOuterDisposeScope();
    }

    /// <summary>x [B, T, ...] and labels [B, T] -> x[:, :-1] flattened to [N, ...] and labels[:, 1:] flattened to [N].</summary>
    static (Tensor X, Tensor Targets) Shift(Tensor x, Tensor labels)
    {
        long b = x.shape[0], t = x.shape[1];
        if (labels.shape.Length != 2 || labels.shape[0] != b || labels.shape[1] != t)
            throw new ArgumentException($"labels [{string.Join(",", labels.shape)}] do not match [{b},{t}]");
        var xs = x.narrow(1, 0, t - 1).reshape(b * (t - 1), x.shape[^1]);
        var ys = labels.narrow(1, 1, t - 1).reshape(b * (t - 1)).to(ScalarType.Int64, x.device);
        return (xs, ys);
    }

    static Tensor CountOf(Tensor targets) => targets.ne(IgnoreIndex).sum().to(ScalarType.Float32);
}
