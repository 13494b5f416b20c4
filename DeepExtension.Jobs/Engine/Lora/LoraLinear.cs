using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// PEFT's <c>lora.Linear</c>: <c>base_layer(x) + lora_B(lora_A(dropout(x))) · scaling</c>. <c>lora_A</c> [r, in] is
/// kaiming-uniform(a = √5) initialised, <c>lora_B</c> [out, r] starts at zero. The adapter's weights are float32
/// whatever the base's dtype: the input is cast to float32 for the adapter path and the result cast back.
/// Parameter names: <c>base_layer.weight</c>, <c>lora_A.weight</c>, <c>lora_B.weight</c> (PEFT adds <c>.default</c>).
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    public Linear base_layer;
    public Linear lora_A;
    public Linear lora_B;
    public Dropout lora_dropout;

    public int Rank { get; }
    public double Scaling { get; }
    public double DropoutProbability { get; }
    /// <summary>Where the dropout masks come from (a generator on the model's device), so that a run's masks follow its seed
    /// and a recomputed layer (activation checkpointing) can replay them. Null: the global generator.</summary>
    public Generator? DropoutGenerator { get; set; }
    /// <summary>False: the module behaves as its base layer (DPO's reference model, for instance).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>Whether this adapter may run with the others on its input as one <see cref="FusedLora"/> function
    /// (false: as its own module, PEFT's path, which the fused one is tested against).</summary>
    public bool Fuse { get; set; } = true;
    /// <summary>True while the adapter's delta is added into <c>base_layer.weight</c>.</summary>
    public bool Merged { get; private set; }

    public LoraLinear(Linear baseLayer, int rank, double scaling, double dropout, Generator? generator = null) : base(nameof(LoraLinear))
    {
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank));
        var w = baseLayer.weight ?? throw new ArgumentException("base layer has no weight");
        base_layer = baseLayer;
        Rank = rank;
        Scaling = scaling;
        DropoutProbability = dropout;
        long outF = w.shape[0], inF = w.shape[1];
        // kaiming_uniform_(a = √5) on [r, in]: gain √(2 / (1 + 5)), bound = gain · √(3 / fan_in) = 1 / √fan_in.
        // Drawn on the host: a seeded CPU generator then gives the same adapter on every device (and CUDA refuses a CPU generator).
        double bound = 1.0 / Math.Sqrt(inF);
        var a = new Parameter(torch.empty([rank, inF], ScalarType.Float32, w.device));
        using (torch.no_grad())
        using (var init = torch.empty([rank, inF], ScalarType.Float32).uniform_(-bound, bound, generator))
            a.copy_(init);
        var b = new Parameter(torch.zeros([outF, rank], ScalarType.Float32, w.device));
        lora_A = nn.Linear(a);
        lora_B = nn.Linear(b);
        lora_dropout = nn.Dropout(dropout);
        RegisterComponents();
        a.DetachFromDisposeScope();
        b.DetachFromDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var result = base_layer.forward(x);
        if (Enabled && !Merged)
        {
            var h = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
            h = Dropout(h);
            var delta = lora_B.forward(lora_A.forward(h)).mul(Scaling);
            result = result + (delta.dtype == result.dtype ? delta : delta.to(result.dtype));
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Inverted dropout (as <c>nn.Dropout</c>: kept values scaled by 1 / (1 − p)), drawn from <see cref="DropoutGenerator"/>.</summary>
    Tensor Dropout(Tensor h)
    {
        if (!training || DropoutProbability == 0) return h;
        if (DropoutGenerator is null) return lora_dropout.forward(h);
        var keep = torch.empty_like(h).bernoulli_(1 - DropoutProbability, DropoutGenerator);
        return h * keep.div_(1 - DropoutProbability);
    }

    /// <summary>scaling · B·A [out, in], float32.</summary>
    public Tensor DeltaWeight()
    {
        using var noGrad = torch.no_grad();
        return lora_B.weight!.matmul(lora_A.weight!).mul_(Scaling);
    }

    /// <summary>Adds the delta into the base weight (computed in float32, then rounded to the base dtype). Idempotent.</summary>
    public void Merge()
    {
        if (Merged) return;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var w = base_layer.weight!;
        w.copy_((w.to(ScalarType.Float32) + DeltaWeight()).to(w.dtype));
        Merged = true;
    }

    /// <summary>Subtracts the delta again (exact for float32 bases, to rounding for bf16/fp16). Idempotent.</summary>
    public void Unmerge()
    {
        if (!Merged) return;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var w = base_layer.weight!;
        w.copy_((w.to(ScalarType.Float32) - DeltaWeight()).to(w.dtype));
        Merged = false;
    }
}
