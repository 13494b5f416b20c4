using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// LoRA projections that share one input (q/k/v; gate/up; or one projection alone) as one autograd function, the
/// algebra of Unsloth's <c>fast_lora</c>: the input is kept once for all of them in its own dtype (PEFT's path keeps a
/// float32 copy per projection), the adapters' A matrices run as one matmul, and backward recomputes the float32
/// input instead of keeping it. Per projection i, as <see cref="LoraLinear.forward"/> computes it:
/// <code>
/// h      = float32(x) · [A_0; A_1; …]ᵀ                     [N, Σr]  (kept: small)
/// out_i  = base_i(x) + dtype(s · h_i · B_iᵀ)               [N, out_i]
/// </code>
/// and backward, with g_i = s · float32(∂out_i):
/// <code>
/// ∂B_i = g_iᵀ · h_i     ∂h_i = g_i · B_i     ∂A = [∂h_0 … ]ᵀ · float32(x)
/// ∂x   = Σ ∂out_i · W_i  +  dtype([∂h_0 …] · [A_0; A_1; …])
/// </code>
/// It applies only where the projections draw nothing at random (dropout 0, or evaluation): PEFT gives each projection
/// its own dropout mask, so with dropout the projections do not share an input.
/// </summary>
public sealed class FusedLora : autograd.MultiTensorFunction<FusedLora>
{
    public override string Name => nameof(FusedLora);

    /// <summary>
    /// The projections' outputs for input <paramref name="x"/> [..., in], when they can be computed together (every
    /// module a <see cref="LoraLinear"/> that is enabled, unmerged, without dropout in training, on a frozen base);
    /// otherwise null, and the caller runs the modules one by one.
    /// </summary>
    public static Tensor[]? TryForward(Tensor x, params nn.Module<Tensor, Tensor>[] modules)
    {
        var layers = new LoraLinear[modules.Length];
        for (var i = 0; i < modules.Length; i++)
        {
            if (modules[i] is not LoraLinear { Enabled: true, Merged: false, Fuse: true } layer) return null;
            if (layer.training && layer.DropoutProbability > 0) return null;
            if (layer.base_layer.weight!.requires_grad || layer.base_layer.bias?.requires_grad == true) return null;
            layers[i] = layer;
        }
        if (layers.Any(l => l.Scaling != layers[0].Scaling)) return null;
        if (!torch.is_grad_enabled() || !layers.Any(l => l.lora_A.weight!.requires_grad || l.lora_B.weight!.requires_grad))
        {
            return null; // no graph to save memory on: the modules' own forward is as good
        }
        object[] inputs = [x, .. layers.Select(l => (object)l.lora_A.weight!), .. layers.Select(l => (object)l.lora_B.weight!), layers];
        return [.. apply(inputs)];
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layers = (LoraLinear[])vars[^1];
        int n = layers.Length;
        using var scope = torch.NewDisposeScope();
        var a = torch.cat(layers.Select(l => l.lora_A.weight!).ToArray(), 0);                       // [Σr, in]
        var h = torch.matmul(x.to(ScalarType.Float32), a.t());                                      // [..., Σr]
        var outputs = new List<Tensor>(n);
        long offset = 0;
        for (var i = 0; i < n; i++)
        {
            var l = layers[i];
            var hi = h.narrow(-1, offset, l.Rank);
            offset += l.Rank;
            var delta = torch.matmul(hi, l.lora_B.weight!.t()).mul_(l.Scaling);                      // [..., out_i] float32
            var result = nn.functional.linear(x, l.base_layer.weight!, l.base_layer.bias);
            outputs.Add((result + (delta.dtype == result.dtype ? delta : delta.to(result.dtype))).MoveToOuterDisposeScope());
        }
        // Saved after this returns, so h must outlive this scope (the caller's disposes it once the graph holds it).
        ctx.save_for_backward([x, h.MoveToOuterDisposeScope()]);
        ctx.save_data(nameof(LoraLinear), layers);
        return outputs;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        using var scope = torch.NewDisposeScope();
        var saved = ctx.get_saved_variables();
        Tensor x = saved[0], h = saved[1];
        var layers = (LoraLinear[])ctx.get_data(nameof(LoraLinear));
        int n = layers.Length;
        var gradA = new Tensor[n];
        var gradB = new Tensor[n];
        var gradH = new Tensor[n];
        Tensor? gradX = null;
        long offset = 0;
        for (var i = 0; i < n; i++)
        {
            var l = layers[i];
            var gradOut = gradOutputs[i];
            var hi = h.narrow(-1, offset, l.Rank);
            offset += l.Rank;
            var g = gradOut.to(ScalarType.Float32).mul(l.Scaling);                                 // [..., out_i]
            gradB[i] = torch.matmul(g.reshape(-1, g.shape[^1]).t(), hi.reshape(-1, l.Rank));          // [out_i, r]
            gradH[i] = torch.matmul(g, l.lora_B.weight!);                                            // [..., r]
            var throughBase = torch.matmul(gradOut, l.base_layer.weight!);                          // [..., in]
            gradX = gradX is null ? throughBase : gradX + throughBase;
        }
        var a = torch.cat(layers.Select(l => l.lora_A.weight!).ToArray(), 0);                       // [Σr, in]
        var dh = torch.cat(gradH, -1);                                                               // [..., Σr]
        var x32 = x.to(ScalarType.Float32);
        var dA = torch.matmul(dh.reshape(-1, dh.shape[^1]).t(), x32.reshape(-1, x32.shape[^1]));    // [Σr, in]
        offset = 0;
        for (var i = 0; i < n; i++)
        {
            gradA[i] = dA.narrow(0, offset, layers[i].Rank);
            offset += layers[i].Rank;
        }
        var throughAdapters = torch.matmul(dh, a);                                                   // [..., in] float32
        gradX = gradX! + (throughAdapters.dtype == gradX!.dtype ? throughAdapters : throughAdapters.to(gradX.dtype));
        return [gradX.MoveToOuterDisposeScope(), .. gradA.Select(g => g.MoveToOuterDisposeScope()), .. gradB.Select(g => g.MoveToOuterDisposeScope()), null!];
    }
}
