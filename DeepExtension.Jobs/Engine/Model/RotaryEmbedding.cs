using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// Rotary position embedding with Hugging Face's conventions: inverse frequencies <c>1 / theta^(2i/d)</c> in
/// float32 (optionally rescaled: "linear", "llama3"), <c>cos</c>/<c>sin</c> of <c>[freqs, freqs]</c>
/// (halves, not interleaved) and <c>rotate_half</c>. Not a module: it has no weights, and its float32
/// frequencies must not be cast when the model is converted to bfloat16.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor invFreqCpu; // [head_dim / 2], float32
    Tensor? invFreqOnDevice;

    public RotaryEmbedding(ModelConfig config)
    {
        invFreqCpu = InverseFrequencies(config.HeadDim, config.RopeTheta, config.RopeScaling).DetachFromDisposeScope();
    }

    /// <summary>The inverse frequencies, computed with the same float32 operations as transformers.</summary>
    public static Tensor InverseFrequencies(long headDim, double theta, RopeScaling? scaling)
    {
        using var scope = torch.NewDisposeScope();
        var exponents = torch.arange(0, headDim, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / headDim; // [d/2]
        var invFreq = torch.full_like(exponents, theta).pow(exponents).reciprocal();                          // 1 / theta^(2i/d)

        switch (scaling?.RopeType)
        {
            case null or "default":
                break;
            case "linear":
                invFreq = invFreq / scaling.Factor;
                break;
            case "llama3":
            {
                // Wavelengths longer than the original context are slowed by `factor`, shorter than
                // original/high_freq_factor kept, and the band between interpolated smoothly.
                double lowFreqWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.LowFreqFactor;
                double highFreqWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.HighFreqFactor;
                var wavelen = invFreq.reciprocal() * (2 * Math.PI);
                var llama = torch.where(wavelen > lowFreqWavelen, invFreq / scaling.Factor, invFreq);
                var smooth = (wavelen.reciprocal() * (double)scaling.OriginalMaxPositionEmbeddings - scaling.LowFreqFactor)
                             / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                var smoothed = (1 - smooth) * llama / scaling.Factor + smooth * llama;
                var isMedium = (wavelen < highFreqWavelen).logical_not().logical_and((wavelen > lowFreqWavelen).logical_not());
                invFreq = torch.where(isMedium, smoothed, llama);
                break;
            }
            default:
                throw new NotSupportedException($"rope type '{scaling.RopeType}' is not supported");
        }
        return invFreq.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>cos and sin for <paramref name="positionIds"/> [B, T], each [B, T, head_dim], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positionIds, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        if (invFreqOnDevice is null || invFreqOnDevice.device != positionIds.device)
        {
            invFreqOnDevice?.Dispose();
            invFreqOnDevice = invFreqCpu.to(positionIds.device).DetachFromDisposeScope();
        }
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreqOnDevice; // [B, T, d/2]
        var emb = torch.cat([freqs, freqs], dim: -1);                                    // [B, T, d]
        var cos = emb.cos().to(dtype);
        var sin = emb.sin().to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary><c>x * cos + rotate_half(x) * sin</c> for x [B, heads, T, d] and cos/sin [B, T, d].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = torch.cat([-x2, x1], dim: -1);                         // rotate_half
        var result = x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);      // broadcast over heads
        return result.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        invFreqCpu.Dispose();
        invFreqOnDevice?.Dispose();
    }
}
