using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

public static class GradientClipping
{
    /// <summary>
    /// <c>torch.nn.utils.clip_grad_norm_</c> with the 2-norm: the global norm of all gradients, and every gradient
    /// multiplied by <c>min(1, maxNorm / (norm + 1e-6))</c>. Returns the norm before clipping as a float32 scalar on
    /// the device (read it only when logging: reading it synchronises). Parameters without gradient are skipped.
    /// </summary>
    public static Tensor ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm) =>
        ClipGradients([.. parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!)], maxNorm);

    /// <summary>The same on the gradient tensors themselves (scaled in place).</summary>
    public static Tensor ClipGradients(IReadOnlyList<Tensor> grads, double maxNorm)
    {
        if (grads.Count == 0) return torch.zeros([], ScalarType.Float32);
        using var noGrad = torch.no_grad();
        Tensor total;
        using (var scope = torch.NewDisposeScope())
        {
            var norms = grads.Select(g => torch.linalg.vector_norm(g.to(ScalarType.Float32), 2)).ToArray();
            total = torch.linalg.vector_norm(torch.stack(norms), 2).MoveToOuterDisposeScope();
        }
        using (var scope = torch.NewDisposeScope())
        {
            var coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
            foreach (var g in grads) g.mul_(coefficient.to(g.dtype));
        }
        return total;
    }
}
