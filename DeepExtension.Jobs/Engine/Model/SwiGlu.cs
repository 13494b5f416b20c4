using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// <c>silu(gate) · up</c> as one autograd function that keeps only its two inputs and recomputes the sigmoid in backward
/// (autograd's own graph also keeps <c>silu(gate)</c>, one more [N, intermediate] tensor per layer):
/// <code>
/// s = σ(gate)      ∂up = ∂y · gate · s      ∂gate = ∂y · up · s · (1 + gate · (1 − s))
/// </code>
/// </summary>
public sealed class SwiGlu : autograd.SingleTensorFunction<SwiGlu>
{
    public override string Name => nameof(SwiGlu);

    /// <summary>silu(<paramref name="gate"/>) · <paramref name="up"/>; through this function only when a gradient is recorded.</summary>
    public static Tensor Apply(Tensor gate, Tensor up) =>
        torch.is_grad_enabled() && (gate.requires_grad || up.requires_grad)
            ? apply(gate, up)
            : nn.functional.silu(gate) * up;

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        Tensor gate = (Tensor)vars[0], up = (Tensor)vars[1];
        ctx.save_for_backward([gate, up]);
        return nn.functional.silu(gate) * up;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = torch.NewDisposeScope();
        var saved = ctx.get_saved_variables();
        Tensor gate = saved[0], up = saved[1];
        var s = torch.sigmoid(gate);
        var gradUp = gradOutput * (gate * s);
        // As autograd computes it: the product's gradient, then silu's backward.
        var gradGate = gradOutput * up * s * (1 + gate * (1 - s));
        return [gradGate.MoveToOuterDisposeScope(), gradUp.MoveToOuterDisposeScope()];
    }
}
