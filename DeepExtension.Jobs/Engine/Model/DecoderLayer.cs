using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>Pre-norm transformer block: <c>h = x + attn(norm(x)); out = h + mlp(norm(h))</c>.</summary>
public sealed class DecoderLayer : nn.Module
{
    public Attention self_attn;
    public MLP mlp;
    public RMSNorm input_layernorm;
    public RMSNorm post_attention_layernorm;

    public int Index { get; }
    /// <summary>Sliding attention window of this layer, or null for full attention.</summary>
    public long? SlidingWindow { get; }

    public DecoderLayer(ModelConfig config, int index, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        Index = index;
        SlidingWindow = config.SlidingWindows[index];
        self_attn = new Attention(config, index, dtype, device);
        mlp = new MLP(config, dtype, device);
        input_layernorm = new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        post_attention_layernorm = new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, bool isCausal, KVCache? cache) // [B, T, hidden]
    {
        using var scope = torch.NewDisposeScope();
        var h = x + self_attn.forward(input_layernorm.forward(x), cos, sin, mask, isCausal, cache);
        var y = h + mlp.forward(post_attention_layernorm.forward(h));
        return y.MoveToOuterDisposeScope();
    }
}
