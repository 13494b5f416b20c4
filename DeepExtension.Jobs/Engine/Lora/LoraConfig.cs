using DeepExtension.Core.HuggingFace;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// A LoRA adapter's hyper-parameters, as PEFT's <c>LoraConfig</c>: rank <paramref name="R"/>,
/// <paramref name="LoraAlpha"/> (scaling = alpha / r, or alpha / √r with <paramref name="UseRsLora"/>), dropout on the
/// adapter's input, and the projections to wrap (PEFT module names: q_proj, k_proj, v_proj, o_proj, gate_proj,
/// up_proj, down_proj; "all-linear" means all seven).
/// </summary>
public sealed record LoraConfig(
    int R,
    int LoraAlpha,
    double LoraDropout,
    IReadOnlyList<string> TargetModules,
    bool UseRsLora = false)
{
    public static readonly IReadOnlyList<string> AttentionProjections = PeftTargetModules.Attention;
    public static readonly IReadOnlyList<string> MlpProjections = PeftTargetModules.Mlp;
    public static readonly IReadOnlyList<string> AllProjections = PeftTargetModules.All;

    /// <summary>r = 8, alpha = 16, dropout 0.05, all seven projections.</summary>
    public static LoraConfig Default => new(8, 16, 0.05, AllProjections);

    public double Scaling => UseRsLora ? LoraAlpha / Math.Sqrt(R) : (double)LoraAlpha / R;

    /// <summary>The target modules expanded ("all-linear") and checked, in the model's order.</summary>
    public IReadOnlyList<string> ResolvedTargets()
    {
        if (TargetModules.FirstOrDefault(t => t != PeftTargetModules.AllLinear && !AllProjections.Contains(t)) is { } unknown)
            throw new NotSupportedException($"LoRA target module '{unknown}' is not supported (supported: {string.Join(", ", AllProjections)}, {PeftTargetModules.AllLinear})");
        var targets = PeftTargetModules.Expand([.. TargetModules]);
        if (targets.Count == 0) throw new ArgumentException("LoRA needs at least one target module");
        return targets;
    }

    public void Validate()
    {
        if (R <= 0) throw new ArgumentOutOfRangeException(nameof(R), R, "LoRA rank must be positive");
        if (LoraAlpha <= 0) throw new ArgumentOutOfRangeException(nameof(LoraAlpha), LoraAlpha, "lora_alpha must be positive");
        if (LoraDropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(LoraDropout), LoraDropout, "lora_dropout must be in [0, 1)");
        _ = ResolvedTargets();
    }
}
