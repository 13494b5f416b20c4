using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>Root-mean-square layer norm, computed in float32 whatever the input dtype (as Hugging Face does):
/// <c>weight * (x / sqrt(mean(x²) + eps)).to(input dtype)</c>.</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    readonly double eps;

    public RMSNorm(long size, double eps, ScalarType dtype, Device device) : base(nameof(RMSNorm))
    {
        weight = new Parameter(torch.ones(size, dtype: dtype, device: device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) // x: [..., size]
    {
        using var scope = torch.NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.pow(2).mean([-1], keepdim: true);          // [..., 1]
        var normed = (x32 * torch.rsqrt(variance + eps)).to(x.dtype);  // [..., size]
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
