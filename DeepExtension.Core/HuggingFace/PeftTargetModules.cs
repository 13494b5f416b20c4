namespace DeepExtension.Core.HuggingFace;

/// <summary>
/// The LoRA target projections of the supported decoders (Llama, Qwen2, Mistral), named as PEFT's
/// <c>target_modules</c>, in model order. The parameter schema offers them; the engine wraps them.
/// </summary>
public static class PeftTargetModules
{
    public static IReadOnlyList<string> Attention { get; } = ["q_proj", "k_proj", "v_proj", "o_proj"];
    public static IReadOnlyList<string> Mlp { get; } = ["gate_proj", "up_proj", "down_proj"];
    public static IReadOnlyList<string> All { get; } = [.. Attention, .. Mlp];

    /// <summary>PEFT's shorthand for every linear projection.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>The projections <paramref name="modules"/> names (<see cref="AllLinear"/> expanded), each once, in model
    /// order; names of no supported projection are left out.</summary>
    public static IReadOnlyList<string> Expand(IReadOnlyCollection<string> modules) =>
        All.Where(m => modules.Contains(AllLinear) || modules.Contains(m)).ToList();
}
