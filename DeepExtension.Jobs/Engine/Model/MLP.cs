using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>SwiGLU feed-forward: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>.</summary>
public sealed class MLP : nn.Module<Tensor, Tensor>
{
    // Typed as modules (not Linear) so that LoRA can wrap them; see ReplaceProjection.
    public nn.Module<Tensor, Tensor> gate_proj;
    public nn.Module<Tensor, Tensor> up_proj;
    public nn.Module<Tensor, Tensor> down_proj;

    public MLP(ModelConfig config, ScalarType dtype, Device device) : base(nameof(MLP))
    {
        gate_proj = Layers.Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        up_proj = Layers.Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        down_proj = Layers.Linear(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) // [B, T, hidden] -> [B, T, hidden]
    {
        using var scope = torch.NewDisposeScope();
        var gated = nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x); // [B, T, intermediate]
        return down_proj.forward(gated).MoveToOuterDisposeScope();
    }

    /// <summary>Swaps one of gate_proj/up_proj/down_proj for another module (e.g. a LoRA wrapper of it).</summary>
    public void ReplaceProjection(string name, nn.Module<Tensor, Tensor> module)
    {
        switch (name)
        {
            case nameof(gate_proj): gate_proj = module; break;
            case nameof(up_proj): up_proj = module; break;
            case nameof(down_proj): down_proj = module; break;
            default: throw new ArgumentException($"MLP has no projection '{name}'", nameof(name));
        }
        register_module(name, null!); // unregister the old one, then register the new one under the same name
        register_module(name, module);
    }
}
