namespace DeepExtension.Core.HuggingFace;

/// <summary>The config.json architectures the training engine builds (one list for the engine and the Hub download check).</summary>
public static class TrainableArchitectures
{
    public static IReadOnlyList<string> All { get; } = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"];

    public static bool Contains(string? architecture) => architecture is not null && All.Contains(architecture, StringComparer.Ordinal);
}
