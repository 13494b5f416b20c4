using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// Key/value cache for incremental decoding: per layer, preallocated buffers [B, kv_heads, max_length, head_dim]
/// written in place (no reallocation per step). <see cref="Length"/> is the number of cached positions; the
/// model advances it after each forward pass.
/// </summary>
public sealed class KVCache : IDisposable
{
    readonly Tensor[] keys;
    readonly Tensor[] values;

    public long Batch { get; }
    public long MaxLength { get; }
    public long Length { get; private set; }

    public KVCache(ModelConfig config, long batch, long maxLength, ScalarType dtype, Device device)
    {
        Batch = batch;
        MaxLength = maxLength;
        keys = new Tensor[config.NumHiddenLayers];
        values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = torch.zeros([batch, config.NumKeyValueHeads, maxLength, config.HeadDim], dtype, device).DetachFromDisposeScope();
            values[i] = torch.zeros([batch, config.NumKeyValueHeads, maxLength, config.HeadDim], dtype, device).DetachFromDisposeScope();
        }
    }

    /// <summary>Stores k, v [B, kv_heads, T, d] at positions [Length, Length + T) of <paramref name="layer"/> and returns
    /// views of all cached keys and values [B, kv_heads, Length + T, d].</summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > MaxLength) throw new InvalidOperationException($"KV cache full: {Length} + {t} > {MaxLength} positions");
        using (torch.no_grad())
        {
            keys[layer].narrow(2, Length, t).copy_(k);
            values[layer].narrow(2, Length, t).copy_(v);
        }
        return (keys[layer].narrow(2, 0, Length + t), values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Marks <paramref name="count"/> more positions as cached (after every layer stored them).</summary>
    public void Advance(long count) => Length += count;

    /// <summary>Forgets everything cached (the buffers are reused).</summary>
    public void Reset() => Length = 0;

    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
    }
}
