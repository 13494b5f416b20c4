namespace DeepExtension.Core.BaseModels;

/// <summary>
/// What a base model folder says about itself, read once at registration from config.json,
/// generation_config.json, tokenizer files and the safetensors headers.
/// </summary>
public sealed record ModelCard
{
    public required string Architecture { get; init; }
    public string? ModelType { get; init; }
    /// <summary>Sum of the element counts of every tensor in the safetensors headers.</summary>
    public long ParameterCount { get; init; }
    public int? HiddenSize { get; init; }
    public int? IntermediateSize { get; init; }
    public int? NumLayers { get; init; }
    public int? NumAttentionHeads { get; init; }
    public int? NumKeyValueHeads { get; init; }
    public int? HeadDim { get; init; }
    public int? VocabSize { get; init; }
    public int? ContextLength { get; init; }
    public string? Dtype { get; init; }
    public double? RopeTheta { get; init; }
    public string? RopeScalingType { get; init; }
    public bool? TieWordEmbeddings { get; init; }
    public double? RmsNormEps { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>The text of the BOS, EOS and PAD ids (&lt;|im_end|&gt;), where the tokenizer declares it; empty on cards read before it was recorded.</summary>
    public IReadOnlyDictionary<int, string> SpecialTokenTexts { get; init; } = new Dictionary<int, string>();
    public bool HasTokenizer { get; init; }
    public bool HasChatTemplate { get; init; }
    public string? TransformersVersion { get; init; }
    /// <summary>"transformers-4" (top-level rope_theta) or "transformers-5" (rope_parameters).</summary>
    public string? ConfigLayout { get; init; }
    public int WeightFileCount { get; init; }
    public long WeightBytes { get; init; }
    /// <summary>Tensor dtypes found in the weights, e.g. "BF16".</summary>
    public IReadOnlyList<string> WeightDtypes { get; init; } = [];

    /// <summary>"0.5B", "7.6B", "431K": how people talk about model sizes.</summary>
    public string ParameterCountDisplay => FormatCount(ParameterCount);

    public static string FormatCount(long count) => count switch
    {
        >= 1_000_000_000 => $"{count / 1e9:0.##}B",
        >= 1_000_000 => $"{count / 1e6:0.##}M",
        >= 1_000 => $"{count / 1e3:0.##}K",
        _ => count.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
