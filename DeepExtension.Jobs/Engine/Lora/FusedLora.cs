using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// LoRA projections that share one input (q/k/v; gate/up; or one projection alone) computed together, the algebra of
/// Unsloth's <c>fast_lora</c>: the input is kept once for all of them in its own dtype (PEFT's path keeps a float32 copy
/// per projection), and the adapters' A matrices run as one matmul. Per projection i, as <see cref="LoraLinear.forward"/>
/// computes it:
/// <code>
/// h      = float32(x) · [A_0; A_1; …]ᵀ                     [N, Σr]   (LoraDown: keeps x, recomputes float32(x) in backward)
/// out_i  = base_i(x) + dtype(s · h_i · B_iᵀ)               [N, out_i] (autograd: keeps h_i; the frozen base keeps nothing)
/// </code>
/// Only the down-projection to rank space is a custom autograd function, so its output (and the buffer TorchSharp keeps
/// per output of a custom function for backward) is the small h, not the projections' outputs.
/// It applies only where the projections draw nothing at random (dropout 0, or evaluation): PEFT gives each projection
/// its own dropout mask, so with dropout the projections do not share an input.
/// </summary>
public static class FusedLora
{
    /// <summary>
    /// The projections' outputs for input <paramref name="x"/> [..., in], when they can be computed together (every
    /// module a <see cref="LoraLinear"/> that is enabled, unmerged, without dropout in training, on a frozen base, while
    /// gradients are recorded); otherwise null, and the caller runs the modules one by one.
    /// </summary>
    public static Tensor[]? TryForward(Tensor x, params nn.Module<Tensor, Tensor>[] modules)
    {
        if (Fusable(modules) is not { } layers) return null;
        using var scope = torch.NewDisposeScope();
        var h = LoraDown.apply([x, .. layers.Select(l => (object)l.lora_A.weight!)]);                   // [..., Σr] float32
        var outputs = new Tensor[layers.Length];
        long offset = 0;
        for (var i = 0; i < layers.Length; i++)
        {
            var l = layers[i];
            var delta = torch.matmul(h.narrow(-1, offset, l.Rank), l.lora_B.weight!.t()).mul(l.Scaling); // [..., out_i] float32
            offset += l.Rank;
            var result = l.base_layer.forward(x);
            outputs[i] = (result + (delta.dtype == result.dtype ? delta : delta.to(result.dtype))).MoveToOuterDisposeScope();
        }
        return outputs;
    }

    /// <summary>The modules as adapters that may run fused, or null.</summary>
    static LoraLinear[]? Fusable(nn.Module<Tensor, Tensor>[] modules)
    {
        var layers = new LoraLinear[modules.Length];
        for (var i = 0; i < modules.Length; i++)
        {
            if (modules[i] is not LoraLinear { Enabled: true, Merged: false, Fuse: true } layer) return null;
            if (layer.training && layer.DropoutProbability > 0) return null;
            if (layer.base_layer.weight!.requires_grad || layer.base_layer.bias?.requires_grad == true) return null;
            layers[i] = layer;
        }
        // No graph to save memory on: the modules' own forward is as good.
        if (!torch.is_grad_enabled() || !layers.Any(l => l.lora_A.weight!.requires_grad || l.lora_B.weight!.requires_grad)) return null;
        return layers;
    }

    /// <summary>
    /// <c>h = float32(x) · [A_0; A_1; …]ᵀ</c> keeping only x (in its own dtype); backward:
    /// <c>∂A = ∂hᵀ · float32(x)</c> (split per adapter), <c>∂x = dtype(∂h · [A_0; A_1; …])</c>.
    /// </summary>
    public sealed class LoraDown : autograd.SingleTensorFunction<LoraDown>
    {
        public override string Name => nameof(LoraDown);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var a = vars.Skip(1).Cast<Tensor>().ToArray();
            ctx.save_for_backward([x, .. a]);
            using var scope = torch.NewDisposeScope();
            var stacked = a.Length == 1 ? a[0] : torch.cat(a, 0);                                        // [Σr, in]
            return torch.matmul(x.to(ScalarType.Float32), stacked.t()).MoveToOuterDisposeScope();        // [..., Σr]
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var x = saved[0];
            var a = saved.Skip(1).ToArray();
            var stacked = a.Length == 1 ? a[0] : torch.cat(a, 0);                                        // [Σr, in]
            var x32 = x.to(ScalarType.Float32);
            var dh = gradOutput.reshape(-1, gradOutput.shape[^1]);                                        // [N, Σr]
            var dA = torch.matmul(dh.t(), x32.reshape(-1, x32.shape[^1]));                                // [Σr, in]
            var dx = torch.matmul(gradOutput, stacked);                                                   // [..., in] float32
            if (dx.dtype != x.dtype) dx = dx.to(x.dtype);
            var grads = new List<Tensor> { dx.MoveToOuterDisposeScope() };
            long offset = 0;
            foreach (var ai in a)
            {
                grads.Add(dA.narrow(0, offset, ai.shape[0]).MoveToOuterDisposeScope());
                offset += ai.shape[0];
            }
            return grads;
        }
    }
}
