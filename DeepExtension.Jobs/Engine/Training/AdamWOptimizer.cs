using DeepExtension.Jobs.Engine.Safetensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Training;

/// <summary>
/// AdamW hyper-parameters. Every one must be given: PyTorch's <c>torch.optim.AdamW</c> defaults to
/// weight_decay 0.01 where TorchSharp's defaults to 0, so nothing here relies on a default.
/// </summary>
public sealed record AdamWOptions(double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay);

/// <summary>
/// <c>torch.optim.AdamW</c> (single-tensor path, amsgrad off, maximize off): decoupled weight decay
/// <c>p ← p·(1 − lr·wd)</c>, then Adam with bias correction <c>1 − βᵗ</c>. State (<c>exp_avg</c>, <c>exp_avg_sq</c>)
/// is float32 on each parameter's device; the step counter and the learning rate live on the host, so a step
/// never synchronises with the device. Parameters without a gradient are skipped, as torch does.
/// </summary>
public sealed class AdamWOptimizer : IDisposable
{
    readonly List<(string Name, Parameter Parameter, Tensor ExpAvg, Tensor ExpAvgSq)> state = [];

    public AdamWOptions Options { get; }
    /// <summary>The learning rate of the next step (set it from a schedule before each step).</summary>
    public double LearningRate { get; set; }
    /// <summary>Optimizer steps taken (torch's <c>state["step"]</c>).</summary>
    public long StepCount { get; private set; }

    public AdamWOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, AdamWOptions options)
    {
        Options = options;
        LearningRate = options.LearningRate;
        foreach (var (name, p) in parameters)
        {
            var m = torch.zeros(p.shape, ScalarType.Float32, p.device).DetachFromDisposeScope();
            var v = torch.zeros(p.shape, ScalarType.Float32, p.device).DetachFromDisposeScope();
            state.Add((name, p, m, v));
        }
    }

    public IEnumerable<Parameter> Parameters => state.Select(s => s.Parameter);

    /// <summary>One update of every parameter that has a gradient, with <see cref="LearningRate"/>.</summary>
    public void Step()
    {
        StepCount++;
        using var noGrad = torch.no_grad();
        foreach (var (_, p, m, v) in state)
        {
            var g = p.grad;
            if (g is null) continue;
            Update(p, g, m, v, StepCount, LearningRate, Options.Beta1, Options.Beta2, Options.Eps, Options.WeightDecay);
        }
    }

    /// <summary>Sets every gradient to null (torch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p, _, _) in state)
        {
            var g = p.grad;
            if (g is null) continue;
            p.grad = null;
            g.Dispose();
        }
    }

    /// <summary>
    /// The AdamW update of one tensor, in place, as torch's <c>_single_tensor_adamw</c> (<paramref name="step"/> counts
    /// from 1). All tensors float32 of one shape; <paramref name="grad"/> is read only.
    /// </summary>
    public static void Update(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step,
                              double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var g = grad.dtype == expAvg.dtype ? grad : grad.to(expAvg.dtype);
        if (weightDecay != 0) param.mul_(1 - lr * weightDecay);
        expAvg.lerp_(g, 1 - beta1);
        expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = lr / biasCorrection1;
        var denom = expAvgSq.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(eps);
        if (param.dtype == ScalarType.Float32) param.addcdiv_(expAvg, denom, -stepSize);
        else param.copy_(param.to(ScalarType.Float32).addcdiv_(expAvg, denom, -stepSize));
    }

    /// <summary>The optimizer state as tensors (<c>exp_avg.{name}</c>, <c>exp_avg_sq.{name}</c>) and its host values.</summary>
    public IReadOnlyDictionary<string, Tensor> StateTensors() =>
        state.SelectMany(s => new[] { KeyValuePair.Create("exp_avg." + s.Name, s.ExpAvg), KeyValuePair.Create("exp_avg_sq." + s.Name, s.ExpAvgSq) })
             .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>Writes the state to a safetensors file; step and learning rate go into its metadata.</summary>
    public void Save(string path) =>
        SafetensorsWriter.Save(path, StateTensors(), new Dictionary<string, string>
        {
            ["step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["lr"] = LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        });

    /// <summary>Restores what <see cref="Save"/> wrote; every parameter's state must be there with its shape.</summary>
    public void Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        using var noGrad = torch.no_grad();
        foreach (var (name, p, m, v) in state)
        {
            foreach (var (key, target) in new[] { ("exp_avg." + name, m), ("exp_avg_sq." + name, v) })
            {
                if (!file.Contains(key)) throw new InvalidDataException($"{path} has no optimizer state '{key}'");
                using var t = file.Load(key, ScalarType.Float32, target.device);
                if (!t.shape.SequenceEqual(target.shape)) throw new InvalidDataException($"{key}: shape [{string.Join(",", t.shape)}], expected [{string.Join(",", target.shape)}]");
                target.copy_(t);
            }
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        StepCount = file.Metadata.TryGetValue("step", out var s) ? long.Parse(s, inv) : 0;
        if (file.Metadata.TryGetValue("lr", out var lr)) LearningRate = double.Parse(lr, inv);
    }

    public void Dispose()
    {
        foreach (var (_, _, m, v) in state) { m.Dispose(); v.Dispose(); }
        state.Clear();
    }
}
