using DeepExtension.Core.BaseModels;
using DeepExtension.Core.HuggingFace;

namespace DeepExtension.Core.Training;

/// <summary>The shape of a decoder model, as far as training memory depends on it (from its model card).</summary>
public sealed record ModelShape(long Parameters, int Hidden, int Intermediate, int Layers, int Heads, int KeyValueHeads, int HeadDim, int Vocab)
{
    /// <summary>The shape of a base model, or null when its card lacks a field the estimate needs.</summary>
    public static ModelShape? Of(ModelCard card) =>
        card is { ParameterCount: > 0, HiddenSize: { } h, IntermediateSize: { } i, NumLayers: { } l, NumAttentionHeads: { } heads, VocabSize: { } v }
            ? new ModelShape(card.ParameterCount, h, i, l, heads, card.NumKeyValueHeads ?? heads, card.HeadDim ?? h / heads, v)
            : null;

    /// <summary>Input and output features of a target projection.</summary>
    public (long In, long Out) Projection(string name) => name switch
    {
        "q_proj" => (Hidden, (long)Heads * HeadDim),
        "o_proj" => ((long)Heads * HeadDim, Hidden),
        "k_proj" or "v_proj" => (Hidden, (long)KeyValueHeads * HeadDim),
        "gate_proj" or "up_proj" => (Hidden, Intermediate),
        "down_proj" => (Intermediate, Hidden),
        _ => (0, 0),
    };
}

/// <summary>
/// Peak device memory of a training run, before it starts, from the model's shape and the run's parameters: what the
/// engine keeps, term by term (weights, the adapter with its gradients and AdamW moments, the activations autograd saves
/// per token and layer, the chunked loss, the backward pass's working tensors and a fixed overhead). The per-token
/// terms count the tensors the engine's modules save (see <c>DeepExtension.Jobs/Engine/README.md</c>, "Memory"); the
/// error against measured peaks is in <c>bench/results.md</c>.
/// </summary>
public sealed record MemoryEstimate(long Weights, long Adapter, long Activations, long Loss, long Workspace, long Overhead)
{
    public long Total => Weights + Adapter + Activations + Loss + Workspace + Overhead;

    /// <summary>Whether the run fits <paramref name="freeBytes"/> (unknown free memory: assumed to).</summary>
    public bool Fits(long? freeBytes) => freeBytes is not { } free || Total <= free;

    /// <summary>The CUDA context, libtorch's kernels and the caching allocator's slack on a GPU; the runtime on the CPU.</summary>
    const long GpuOverhead = 600L << 20, CpuOverhead = 400L << 20;

    /// <summary>Logits are computed this many elements at a time (<c>CausalLMLoss</c>).</summary>
    const long LossChunkElements = 64L << 20;

    /// <param name="gpu">bf16 weights and fused attention kernels on a GPU; float32 and the CPU's attention otherwise.</param>
    public static MemoryEstimate For(ModelShape shape, TrainingParameters p, bool gpu)
    {
        long b = gpu ? 2 : 4;                              // bytes per element of the base and the activations
        long tokens = (long)Math.Max(1, p.BatchSize) * Math.Max(1, p.MaxTokens); // the longest micro-batch the run can meet
        long seq = Math.Max(1, p.MaxTokens);
        long h = shape.Hidden, i = shape.Intermediate, layers = shape.Layers;
        var targets = PeftTargetModules.Expand([.. p.TargetModules]);

        long loraParameters = layers * targets.Sum(t => (long)p.LoraR * (shape.Projection(t).In + shape.Projection(t).Out));
        long adapter = loraParameters * 16;               // float32 weight, gradient, two AdamW moments

        // Saved for backward, per token of one layer (the fused LoRA path, dropout 0): each RMSNorm its float32 input and
        // its normalised output; the LoRA groups their shared input and the small A·x; attention q, k, v (key/value heads
        // repeated) and the output; SwiGLU gate, silu(gate) and up; down_proj its input.
        long norms = 2 * (4 * h + b * h);
        long loraInputs = b * (h + h + h + i) + 4L * p.LoraR * targets.Count;
        long attention = gpu ? 4 * b * h : 4 * b * h + 4L * shape.Heads * seq; // the CPU keeps the attention weights [heads, T, T]
        long mlp = b * 3 * i;
        long perLayerToken = norms + loraInputs + attention + mlp;
        long activations = p.GradientCheckpointing switch
        {
            TrainingParameters.Checkpointing.Layer => tokens * (layers * b * h + perLayerToken),
            TrainingParameters.Checkpointing.Offload when gpu => tokens * perLayerToken,
            TrainingParameters.Checkpointing.Offload => tokens * (layers * b * h + perLayerToken),
            _ => tokens * layers * perLayerToken,
        };

        // The loss: the final hidden states, and float32 logits with their gradient for one chunk of tokens at a time.
        long chunk = Math.Min(tokens, Math.Max(16, LossChunkElements / Math.Max(1, shape.Vocab)));
        long loss = tokens * b * h + 3 * 4 * chunk * shape.Vocab;
        // Backward's working tensors in the widest layer: gradients of gate and up, and float32 copies for the adapters.
        long workspace = tokens * (2 * b * i + 4 * i + 4 * h);
        return new MemoryEstimate(shape.Parameters * b, adapter, activations, loss, workspace, gpu ? GpuOverhead : CpuOverhead);
    }
}
