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
/// <c>torch.optim.AdamW</c> (amsgrad off, maximize off): decoupled weight decay <c>p ← p·(1 − lr·wd)</c>, then Adam with
/// bias correction <c>1 − βᵗ</c>. State (<c>exp_avg</c>, <c>exp_avg_sq</c>) is float32 on each parameter's device; the
/// step counter and the learning rate live on the host, so a step never synchronises with the device. Parameters
/// without a gradient are skipped, as torch does.
/// <para>
/// Like torch's multi-tensor path, a step costs a handful of kernels, not a handful per parameter: the parameters of
/// one device and dtype are moved into one flat buffer (each parameter becomes a view of it, so modules see no
/// change), and so are their state and, before clipping and updating, their gradients. LoRA on all seven projections
/// of a 24-layer model has 336 tensors; one kernel launch each for the ~10 operations of clipping and AdamW cost more
/// host time than the GPU needed for the whole update.
/// </para>
/// </summary>
public sealed class AdamWOptimizer : IDisposable
{
    /// <summary>Parameters of one device and dtype, with their views into the flat buffers.</summary>
    sealed class Group
    {
        public required List<(string Name, Parameter Parameter, Tensor ExpAvg, Tensor ExpAvgSq)> Members;
        public required Tensor Params, ExpAvg, ExpAvgSq;   // [total], the members' storage
        public Tensor? Grads;                              // [total] while the gradients are gathered, else null
    }

    readonly List<Group> groups = [];

    public AdamWOptions Options { get; }
    /// <summary>The learning rate of the next step (set it from a schedule before each step).</summary>
    public double LearningRate { get; set; }
    /// <summary>Optimizer steps taken (torch's <c>state["step"]</c>).</summary>
    public long StepCount { get; private set; }

    public AdamWOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, AdamWOptions options)
    {
        Options = options;
        LearningRate = options.LearningRate;
        using var noGrad = torch.no_grad();
        foreach (var members in parameters.GroupBy(p => (p.Parameter.device.ToString(), p.Parameter.dtype)).Select(g => g.ToList()))
        {
            var device = members[0].Parameter.device;
            var total = members.Sum(m => m.Parameter.numel());
            var flat = torch.empty(total, members[0].Parameter.dtype, device).DetachFromDisposeScope();
            var expAvg = torch.zeros(total, ScalarType.Float32, device).DetachFromDisposeScope();
            var expAvgSq = torch.zeros(total, ScalarType.Float32, device).DetachFromDisposeScope();
            var group = new Group { Members = [], Params = flat, ExpAvg = expAvg, ExpAvgSq = expAvgSq };
            long offset = 0;
            foreach (var (name, p) in members)
            {
                var n = p.numel();
                using (var view = flat.narrow(0, offset, n).view(p.shape))
                {
                    view.copy_(p);
                    p.set_(view); // the parameter now lives in the flat buffer; its module still holds the same Parameter
                }
                group.Members.Add((name, p, expAvg.narrow(0, offset, n).view(p.shape).DetachFromDisposeScope(),
                    expAvgSq.narrow(0, offset, n).view(p.shape).DetachFromDisposeScope()));
                offset += n;
            }
            groups.Add(group);
        }
    }

    public IEnumerable<Parameter> Parameters => groups.SelectMany(g => g.Members).Select(m => m.Parameter);

    /// <summary>
    /// <c>torch.nn.utils.clip_grad_norm_</c> (2-norm) over this optimizer's parameters, on the gathered gradients: each
    /// <c>p.grad</c> becomes a view of its group's flat gradient. Returns the norm before clipping, on the device.
    /// </summary>
    public Tensor ClipGradNorm(double maxNorm)
    {
        var gathered = groups.Select(Gather).Where(g => g is not null).Select(g => g!).ToList();
        // A group with some gradients missing is clipped parameter by parameter (torch skips those without one).
        var loose = groups.Where(g => g.Grads is null).SelectMany(g => g.Members).Select(m => m.Parameter.grad).Where(g => g is not null).Select(g => g!);
        return GradientClipping.ClipGradients([.. gathered, .. loose], maxNorm);
    }

    /// <summary>One update of every parameter that has a gradient, with <see cref="LearningRate"/>.</summary>
    public void Step()
    {
        StepCount++;
        using var noGrad = torch.no_grad();
        foreach (var group in groups)
        {
            if (Gather(group) is { } grads)
            {
                Update(group.Params, grads, group.ExpAvg, group.ExpAvgSq, StepCount, LearningRate, Options.Beta1, Options.Beta2, Options.Eps, Options.WeightDecay);
                continue;
            }
            foreach (var (_, p, m, v) in group.Members)
            {
                var g = p.grad;
                if (g is null) continue;
                Update(p, g, m, v, StepCount, LearningRate, Options.Beta1, Options.Beta2, Options.Eps, Options.WeightDecay);
            }
        }
    }

    /// <summary>Sets every gradient to null (torch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var group in groups)
        {
            foreach (var (_, p, _, _) in group.Members)
            {
                var g = p.grad;
                if (g is null) continue;
                p.grad = null;
                g.Dispose();
            }
            group.Grads?.Dispose();
            group.Grads = null;
        }
    }

    /// <summary>
    /// The group's gradients as one flat tensor, each parameter's <c>grad</c> re-pointed at its slice (one copy kernel);
    /// null when a member has no gradient. Gathered once per step: later calls return the same buffer.
    /// </summary>
    static Tensor? Gather(Group group)
    {
        if (group.Grads is not null) return group.Grads;
        var grads = group.Members.Select(m => m.Parameter.grad).ToList();
        if (grads.Any(g => g is null)) return null;
        using var noGrad = torch.no_grad();
        Tensor flat;
        using (var scope = torch.NewDisposeScope())
            flat = torch.cat(grads.Select(g => g!.flatten()).ToList(), 0).MoveToOuterDisposeScope();
        flat.DetachFromDisposeScope();
        long offset = 0;
        foreach (var (_, p, _, _) in group.Members)
        {
            var old = p.grad!;
            var n = p.numel();
            p.grad = flat.narrow(0, offset, n).view(p.shape).DetachFromDisposeScope();
            old.Dispose();
            offset += n;
        }
        group.Grads = flat;
        return flat;
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
        groups.SelectMany(g => g.Members).SelectMany(s => new[] { KeyValuePair.Create("exp_avg." + s.Name, s.ExpAvg), KeyValuePair.Create("exp_avg_sq." + s.Name, s.ExpAvgSq) })
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
        foreach (var (name, p, m, v) in groups.SelectMany(g => g.Members))
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
        foreach (var group in groups)
        {
            group.Grads?.Dispose();
            foreach (var (_, _, m, v) in group.Members) { m.Dispose(); v.Dispose(); }
            group.ExpAvg.Dispose();
            group.ExpAvgSq.Dispose();
            group.Params.Dispose(); // the parameters keep the storage alive through their own handles
        }
        groups.Clear();
    }
}
