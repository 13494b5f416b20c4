using DeepExtension.Jobs.Engine.Safetensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>
/// PPO's critic: one float32 Linear (hidden → 1, with bias) on the policy's final hidden states, as TRL's
/// <c>ValueHead</c> (<c>AutoModelForCausalLMWithValueHead</c>). Its tensors carry TRL's names,
/// <c>v_head.summary.weight</c> [1, H] and <c>v_head.summary.bias</c> [1], in <see cref="FileName"/> of a checkpoint.
/// </summary>
public sealed class ValueHead : nn.Module<Tensor, Tensor>
{
    public const string FileName = "value_head.safetensors";
    public const string WeightName = "v_head.summary.weight";
    public const string BiasName = "v_head.summary.bias";

    public Linear summary;

    /// <summary>torch's <c>nn.Linear</c> initialisation (uniform ±1/√H for weight and bias), drawn from <paramref name="generator"/> (a CPU one).</summary>
    public ValueHead(long hiddenSize, Device device, Generator? generator = null) : base(nameof(ValueHead))
    {
        summary = nn.Linear(hiddenSize, 1, hasBias: true, device: device, dtype: ScalarType.Float32);
        RegisterComponents();
        using (torch.no_grad())
        {
            // Drawn on the host, so a CPU generator seeds a head on any device.
            var bound = 1.0 / Math.Sqrt(hiddenSize);
            using var weight = torch.empty([1, hiddenSize], ScalarType.Float32).uniform_(-bound, bound, generator);
            using var bias = torch.empty([1], ScalarType.Float32).uniform_(-bound, bound, generator);
            summary.weight!.copy_(weight);
            summary.bias!.copy_(bias);
        }
        foreach (var p in parameters()) p.DetachFromDisposeScope();
    }

    /// <summary>The optimizer's view: TRL's names → parameters.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters =>
        [(WeightName, (Parameter)summary.weight!), (BiasName, (Parameter)summary.bias!)];

    /// <summary>Values [B, T] (float32) of hidden states [B, T, H] in any dtype.</summary>
    public override Tensor forward(Tensor hidden) => summary.forward(hidden.to(ScalarType.Float32)).squeeze(-1);

    public void Save(string directory) =>
        SafetensorsWriter.Save(Path.Combine(directory, FileName), Parameters.ToDictionary(p => p.Name, p => (Tensor)p.Parameter, StringComparer.Ordinal));

    /// <summary>Restores what <see cref="Save"/> wrote into <paramref name="directory"/>.</summary>
    public void Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new InvalidDataException($"{directory} has no {FileName}: it is not a PPO checkpoint");
        using var file = SafetensorsFile.Open(path);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in Parameters)
        {
            using var t = file.Load(name, ScalarType.Float32, parameter.device);
            if (!t.shape.SequenceEqual(parameter.shape)) throw new InvalidDataException($"{name}: shape [{string.Join(",", t.shape)}], expected [{string.Join(",", parameter.shape)}]");
            parameter.copy_(t);
        }
    }
}
