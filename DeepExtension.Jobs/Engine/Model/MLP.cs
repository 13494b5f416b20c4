using TorchSharp;
using TorchSharp.Modules;
using DeepExtension.Jobs.Engine.Lora;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>SwiGLU feed-forward: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>. With LoRA on gate and up, the two run as
/// one <see cref="FusedLora"/> function on their shared input.</summary>
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
        var gateUp = FusedLora.TryForward(x, gate_proj, up_proj) ?? [gate_proj.forward(x), up_proj.forward(x)]; // 2 × [B, T, intermediate]
        var gated = nn.functional.silu(gateUp[0]) * gateUp[1];                                                 // [B, T, intermediate]
        var down = FusedLora.TryForward(gated, down_proj)?[0] ?? down_proj.forward(gated);                    // [B, T, hidden]
        return down.MoveToOuterDisposeScope();
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
