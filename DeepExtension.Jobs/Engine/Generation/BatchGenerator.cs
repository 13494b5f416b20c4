using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Generation;

/// <summary>One generated sequence of a batch.</summary>
/// <param name="TokenIds">The new tokens, without the prompt and without the stop token.</param>
/// <param name="LogProbs">Per token of <see cref="TokenIds"/>, its log-probability under the distribution it was chosen
/// from: the model's logits divided by the temperature (1 when greedy), before top-k/top-p filtering.</param>
/// <param name="StopTokenId">The stop token that ended the sequence, or null when it ran to MaxNewTokens.</param>
/// <param name="StopLogProb">The stop token's log-probability (as <see cref="LogProbs"/>), or null.</param>
/// <param name="Text">The tokens decoded without special tokens; empty when no tokenizer was given.</param>
public sealed record GeneratedSequence(long[] TokenIds, float[] LogProbs, long? StopTokenId, float? StopLogProb, string Text)
{
    /// <summary>The new tokens with the stop token when one ended the sequence (what a policy-gradient method scores:
    /// the model must learn to stop).</summary>
    public long[] TokenIdsWithStop => StopTokenId is { } stop ? [.. TokenIds, stop] : TokenIds;
}

/// <summary>
/// Batched incremental decoding, as transformers' <c>generate</c> for decoder-only models: prompts are left-padded to
/// the longest with an attention mask and position ids counting real tokens only (so a padded prompt sees what it
/// would see alone), one prefill pass fills the KV cache, then one position per step for the whole batch. Each row
/// stops at its first stop token; finished rows keep being fed padding until every row is done. Greedy with
/// temperature 0, else temperature/top-k/top-p sampling from one seeded generator for the batch.
/// </summary>
public static class BatchGenerator
{
    /// <param name="prompts">token ids of each prompt (not empty)</param>
    /// <param name="tokenizer">decodes <see cref="GeneratedSequence.Text"/> when given</param>
    /// <param name="padTokenId">fills the left padding and finished rows (any id: masked out)</param>
    public static IReadOnlyList<GeneratedSequence> Generate(ForCausalLM model, IReadOnlyList<IReadOnlyList<long>> prompts, GenerationOptions options,
        HfTokenizer? tokenizer = null, long padTokenId = 0, CancellationToken cancellationToken = default)
    {
        TorchRuntime.EnsureInitialized();
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("a prompt is empty", nameof(prompts));
        int b = prompts.Count;
        var tokens = Enumerable.Range(0, b).Select(_ => new List<long>()).ToArray();
        var logProbs = Enumerable.Range(0, b).Select(_ => new List<float>()).ToArray();
        var stops = new (long Id, float LogProb)?[b];
        if (options.MaxNewTokens > 0) Decode(model, prompts, options, padTokenId, tokens, logProbs, stops, cancellationToken);

        return Enumerable.Range(0, b).Select(i => new GeneratedSequence(
            [.. tokens[i]], [.. logProbs[i]], stops[i]?.Id, stops[i]?.LogProb,
            tokenizer?.Decode(tokens[i].Select(id => (int)id), skipSpecialTokens: true) ?? "")).ToList();
    }

    private static void Decode(ForCausalLM model, IReadOnlyList<IReadOnlyList<long>> prompts, GenerationOptions options, long padTokenId,
        List<long>[] tokens, List<float>[] logProbs, (long Id, float LogProb)?[] stops, CancellationToken cancellationToken)
    {
        int b = prompts.Count;
        int p = prompts.Max(x => x.Count);
        var ids = new long[b * p];
        var mask = new long[b * p];
        for (int i = 0; i < b; i++)
        {
            int offset = p - prompts[i].Count;
            for (int j = 0; j < p; j++)
            {
                ids[i * p + j] = j < offset ? padTokenId : prompts[i][j - offset];
                mask[i * p + j] = j < offset ? 0 : 1;
            }
        }
        var stop = options.StopTokenIds.ToHashSet();
        var done = new bool[b];
        var device = model.Device;
        using var noGrad = torch.no_grad();
        using var cache = model.NewCache(b, p + options.MaxNewTokens);
        using var generator = options.Temperature > 0
            ? new torch.Generator((ulong)(options.Seed ?? Random.Shared.NextInt64()), device)
            : null;
        using var scope = torch.NewDisposeScope();
        var attention = torch.tensor(mask, [b, p]).to(device);                                    // [B, P]
        // transformers: position = number of real tokens before it; padding positions get 1 (any value: masked).
        var positions = attention.cumsum(1).sub(1).masked_fill(attention.eq(0), 1);              // [B, P]
        var input = torch.tensor(ids, [b, p]).to(device);
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = torch.NewDisposeScope();
            var logits = model.forward(input, attention, positions, cache, logitsToKeep: 1)[.., -1].to(ScalarType.Float32); // [B, V]
            var (next, nextLogProbs) = Choose(logits, options, generator);                         // [B], [B]
            // One host synchronisation per step: the stop checks.
            var chosen = next.data<long>().ToArray();
            var chosenLogProbs = nextLogProbs.data<float>().ToArray();
            for (int i = 0; i < b; i++)
            {
                if (done[i]) continue;
                if (stop.Contains(chosen[i]))
                {
                    stops[i] = (chosen[i], chosenLogProbs[i]);
                    done[i] = true;
                    continue;
                }
                tokens[i].Add(chosen[i]);
                logProbs[i].Add(chosenLogProbs[i]);
            }
            if (done.All(d => d)) break;
            var finished = torch.tensor(done, device: device);
            input = next.masked_fill(finished, padTokenId).view(b, 1).MoveToOuterDisposeScope();
            attention = torch.cat([attention, torch.ones([b, 1], ScalarType.Int64, device)], 1).MoveToOuterDisposeScope();
            positions = positions.narrow(1, positions.shape[1] - 1, 1).add(1).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// The next token of each row [B] (int64) from float32 logits [B, V], and its log-probability [B] under the
    /// temperature-scaled distribution (unscaled when greedy), before filtering; see <see cref="GenerationOptions"/>.
    /// </summary>
    public static (Tensor Tokens, Tensor LogProbs) Choose(Tensor logits, GenerationOptions options, torch.Generator? generator)
    {
        using var scope = torch.NewDisposeScope();
        var scores = options.Temperature > 0 ? logits / options.Temperature : logits;
        var logSoftmax = scores.log_softmax(-1);
        Tensor next;
        if (options.Temperature <= 0)
        {
            next = scores.argmax(-1);
        }
        else
        {
            if (options.TopK > 0 && options.TopK < scores.shape[1])
            {
                var kth = scores.topk(options.TopK, dim: -1).values.narrow(1, options.TopK - 1, 1); // [B, 1]
                scores = scores.masked_fill(scores < kth, double.NegativeInfinity);
            }
            if (options.TopP < 1.0)
            {
                // transformers' TopPLogitsWarper, per row: drop the least likely tokens whose cumulative probability is
                // at most 1 - top_p, always keeping the most likely one.
                var (sorted, order) = scores.sort(-1, descending: false);
                var remove = sorted.softmax(-1).cumsum(-1) <= 1.0 - options.TopP;
                remove.index_fill_(1, torch.tensor(new long[] { scores.shape[1] - 1 }, device: scores.device), false);
                scores = scores.masked_fill(remove.scatter(1, order, remove), double.NegativeInfinity);
            }
            next = scores.softmax(-1).multinomial(1, generator: generator).squeeze(1);
        }
        var picked = logSoftmax.gather(1, next.unsqueeze(1)).squeeze(1);
        return (next.MoveToOuterDisposeScope(), picked.MoveToOuterDisposeScope());
    }
}
