using TorchSharp;
using TorchSharp.Modules;
using DeepExtension.Jobs.Engine.Lora;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// Multi-head self-attention with grouped-query key/value heads, rotary positions and
/// <c>scaled_dot_product_attention</c> (scale 1/sqrt(head_dim)).
/// </summary>
public sealed class Attention : nn.Module
{
    // Typed as modules (not Linear) so that LoRA can wrap them; see ReplaceProjection.
    public nn.Module<Tensor, Tensor> q_proj;
    public nn.Module<Tensor, Tensor> k_proj;
    public nn.Module<Tensor, Tensor> v_proj;
    public nn.Module<Tensor, Tensor> o_proj;

    readonly int layerIndex;
    readonly long heads, kvHeads, headDim;

    public Attention(ModelConfig config, int layerIndex, ScalarType dtype, Device device) : base(nameof(Attention))
    {
        this.layerIndex = layerIndex;
        heads = config.NumAttentionHeads;
        kvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        q_proj = Layers.Linear(config.HiddenSize, heads * headDim, config.QkvBias, dtype, device);
        k_proj = Layers.Linear(config.HiddenSize, kvHeads * headDim, config.QkvBias, dtype, device);
        v_proj = Layers.Linear(config.HiddenSize, kvHeads * headDim, config.QkvBias, dtype, device);
        o_proj = Layers.Linear(heads * headDim, config.HiddenSize, config.OutputBias, dtype, device);
        RegisterComponents();
    }

    /// <param name="x">[B, T, hidden]</param>
    /// <param name="cos">[B, T, head_dim]</param>
    /// <param name="sin">[B, T, head_dim]</param>
    /// <param name="mask">boolean [B or 1, 1, T, S] or null</param>
    /// <param name="isCausal">let SDPA apply the causal mask (only with mask null)</param>
    /// <param name="cache">keys/values of earlier positions; updated with this call's</param>
    /// <returns>[B, T, hidden]</returns>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, bool isCausal, KVCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];

        var qkv = FusedLora.TryForward(x, q_proj, k_proj, v_proj) ?? [q_proj.forward(x), k_proj.forward(x), v_proj.forward(x)];
        var q = qkv[0].view(b, t, heads, headDim).transpose(1, 2);   // [B, H, T, d]
        var k = qkv[1].view(b, t, kvHeads, headDim).transpose(1, 2); // [B, KV, T, d]
        var v = qkv[2].view(b, t, kvHeads, headDim).transpose(1, 2); // [B, KV, T, d]

        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);

        if (cache is not null) (k, v) = cache.Update(layerIndex, k, v);      // [B, KV, S, d]

        k = RepeatKV(k, heads / kvHeads);                                      // [B, H, S, d]
        v = RepeatKV(v, heads / kvHeads);

        var y = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, isCausal); // [B, H, T, d]
        y = y.transpose(1, 2).reshape(b, t, heads * headDim);                  // [B, T, H*d]
        return (FusedLora.TryForward(y, o_proj)?[0] ?? o_proj.forward(y)).MoveToOuterDisposeScope();
    }

    /// <summary>[B, KV, S, d] -> [B, KV * rep, S, d], each key/value head repeated for its group of query heads.</summary>
    static Tensor RepeatKV(Tensor x, long rep)
    {
        if (rep == 1) return x;
        long b = x.shape[0], kv = x.shape[1], s = x.shape[2], d = x.shape[3];
        return x.unsqueeze(2).expand(b, kv, rep, s, d).reshape(b, kv * rep, s, d);
    }

    /// <summary>Swaps one of q_proj/k_proj/v_proj/o_proj for another module (e.g. a LoRA wrapper of it).</summary>
    public void ReplaceProjection(string name, nn.Module<Tensor, Tensor> module)
    {
        switch (name)
        {
            case nameof(q_proj): q_proj = module; break;
            case nameof(k_proj): k_proj = module; break;
            case nameof(v_proj): v_proj = module; break;
            case nameof(o_proj): o_proj = module; break;
            default: throw new ArgumentException($"Attention has no projection '{name}'", nameof(name));
        }
        register_module(name, null!);
        register_module(name, module);
    }
}
