using DeepExtension.Jobs.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>How to pick tokens. Temperature 0 means greedy (argmax); otherwise the logits are divided by the
/// temperature, then filtered by top-k (0 = off) and top-p (1 = off), and a token is sampled.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 256;
    public double Temperature { get; init; }
    public double TopP { get; init; } = 1.0;
    public int TopK { get; init; }
    /// <summary>Generation ends (without emitting it) at any of these ids, e.g. the config's <see cref="ModelConfig.EosTokenIds"/>.</summary>
    public IReadOnlyCollection<long> StopTokenIds { get; init; } = [];
    /// <summary>Seed of the sampling generator; null = nondeterministic.</summary>
    public long? Seed { get; init; }
}

/// <param name="TokenIds">The new tokens, without the prompt and without the stop token.</param>
/// <param name="StopTokenId">The stop token that ended generation, or null when it ran to MaxNewTokens.</param>
public sealed record GenerationResult(IReadOnlyList<long> TokenIds, long? StopTokenId);

/// <summary>Incremental decoding with a KV cache: one prefill pass over the prompt, then one position per step.</summary>
public static class TextGenerator
{
    /// <param name="onToken">called with each new token as soon as it is chosen (streaming); not for the stop token</param>
    public static GenerationResult Generate(ForCausalLM model, IReadOnlyList<long> promptIds, GenerationOptions options,
        Action<long>? onToken = null, CancellationToken cancellationToken = default)
    {
        TorchRuntime.EnsureInitialized();
        if (promptIds.Count == 0) throw new ArgumentException("the prompt is empty", nameof(promptIds));
        if (options.MaxNewTokens <= 0) return new GenerationResult([], null);

        var stop = options.StopTokenIds.ToHashSet();
        var output = new List<long>(options.MaxNewTokens);
        using var noGrad = torch.no_grad();
        using var cache = model.NewCache(1, promptIds.Count + options.MaxNewTokens);
        using var generator = options.Temperature > 0
            ? new torch.Generator((ulong)(options.Seed ?? Random.Shared.NextInt64()), model.Device)
            : null;

        using (var scope = torch.NewDisposeScope())
        {
            var input = torch.tensor(promptIds.ToArray(), ScalarType.Int64, model.Device).unsqueeze(0); // [1, P]
            for (int step = 0; step < options.MaxNewTokens; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var stepScope = torch.NewDisposeScope();
                var logits = model.forward(input, cache: cache, logitsToKeep: 1)[0, -1].to(ScalarType.Float32); // [V]
                var next = Choose(logits, options, generator);                                                    // [] int64
                long id = next.item<long>(); // the one host synchronisation per step: stop check and streaming
                if (stop.Contains(id)) return new GenerationResult(output, id);
                output.Add(id);
                onToken?.Invoke(id);
                input = next.view(1, 1).MoveToOuterDisposeScope();
            }
        }
        return new GenerationResult(output, null);
    }

    /// <summary>The next token id (int64 scalar tensor) from float32 logits [V].</summary>
    public static Tensor Choose(Tensor logits, GenerationOptions options, torch.Generator? generator)
    {
        if (options.Temperature <= 0) return logits.argmax();
        using var scope = torch.NewDisposeScope();
        var scores = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < scores.shape[0])
        {
            var kth = scores.topk(options.TopK).values[-1];
            scores = scores.masked_fill(scores < kth, double.NegativeInfinity);
        }
        if (options.TopP < 1.0)
        {
            // transformers' TopPLogitsWarper: drop the least likely tokens whose cumulative probability is at
            // most 1 - top_p, always keeping the most likely one.
            var (sorted, order) = scores.sort(descending: false);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            var remove = cumulative <= 1.0 - options.TopP;
            remove[-1] = torch.tensor(false, device: remove.device);
            var removeInVocabOrder = remove.scatter(0, order, remove);
            scores = scores.masked_fill(removeInVocabOrder, double.NegativeInfinity);
        }
        var probs = scores.softmax(-1);
        return probs.multinomial(1, generator: generator).squeeze(0).MoveToOuterDisposeScope();
    }
}
