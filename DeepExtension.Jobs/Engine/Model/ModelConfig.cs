using System.Text.Json;
using System.Text.Json.Nodes;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>Rotary embedding frequency scaling (<c>rope_scaling</c> / <c>rope_parameters</c>).</summary>
/// <param name="RopeType">"default", "linear" or "llama3".</param>
public sealed record RopeScaling(
    string RopeType,
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    long OriginalMaxPositionEmbeddings = 8192);

/// <summary>
/// The parts of a Hugging Face <c>config.json</c> that the Llama-family decoder needs. Reads both the
/// transformers 4 layout (top-level <c>rope_theta</c>, <c>rope_scaling</c>) and the transformers 5 layout
/// (<c>rope_parameters: {rope_theta, rope_type, ...}</c>).
/// </summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    public required string Architecture { get; init; }
    public required long VocabSize { get; init; }
    public required long HiddenSize { get; init; }
    public required long IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required long HeadDim { get; init; }
    public required double RmsNormEps { get; init; }
    public required double RopeTheta { get; init; }
    public RopeScaling? RopeScaling { get; init; }
    public long MaxPositionEmbeddings { get; init; } = 2048;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q_proj, k_proj, v_proj (Qwen2: always; Llama: <c>attention_bias</c>).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on o_proj (Llama <c>attention_bias</c>; never for Qwen2).</summary>
    public bool OutputBias { get; init; }
    /// <summary>Bias on the MLP projections (Llama <c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Per layer: the sliding attention window, or null for full attention.</summary>
    public required IReadOnlyList<long?> SlidingWindows { get; init; }
    public long? BosTokenId { get; init; }
    public IReadOnlyList<long> EosTokenIds { get; init; } = [];
    public long? PadTokenId { get; init; }

    public static readonly IReadOnlyList<string> SupportedArchitectures = DeepExtension.Core.HuggingFace.TrainableArchitectures.All;

    public static ModelConfig Load(string modelDirectory) =>
        Parse(File.ReadAllText(Path.Combine(modelDirectory, "config.json")));

    public static ModelConfig Parse(string json)
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip })?.AsObject()
                   ?? throw new InvalidDataException("config.json is not a JSON object");

        string modelType = Str(root, "model_type") ?? throw new InvalidDataException("config.json has no model_type");
        string architecture = root["architectures"] is JsonArray { Count: > 0 } archs
            ? archs[0]!.GetValue<string>()
            : modelType switch
            {
                "llama" => "LlamaForCausalLM",
                "qwen2" => "Qwen2ForCausalLM",
                "mistral" => "MistralForCausalLM",
                _ => throw new NotSupportedException($"model_type '{modelType}' is not supported"),
            };
        if (!SupportedArchitectures.Contains(architecture))
            throw new NotSupportedException($"architecture '{architecture}' is not supported (supported: {string.Join(", ", SupportedArchitectures)})");

        string act = Str(root, "hidden_act") ?? "silu";
        if (act is not ("silu" or "swish"))
            throw new NotSupportedException($"hidden_act '{act}' is not supported (only silu)");

        long hidden = Long(root, "hidden_size") ?? throw new InvalidDataException("config.json has no hidden_size");
        int heads = (int)(Long(root, "num_attention_heads") ?? throw new InvalidDataException("config.json has no num_attention_heads"));
        int kvHeads = (int)(Long(root, "num_key_value_heads") ?? heads);
        if (heads % kvHeads != 0) throw new InvalidDataException($"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        int layers = (int)(Long(root, "num_hidden_layers") ?? throw new InvalidDataException("config.json has no num_hidden_layers"));

        // rope: transformers 5 puts everything in rope_parameters, transformers 4 has rope_theta + rope_scaling.
        var ropeParameters = root["rope_parameters"] as JsonObject;
        var ropeScaling = root["rope_scaling"] as JsonObject;
        double theta = (ropeParameters is null ? null : Double(ropeParameters, "rope_theta")) ?? Double(root, "rope_theta") ?? 10000.0;
        var scalingSource = ropeParameters is not null && RopeTypeOf(ropeParameters) is not null and not "default" ? ropeParameters : ropeScaling;
        RopeScaling? scaling = null;
        if (scalingSource is not null && RopeTypeOf(scalingSource) is { } ropeType && ropeType != "default")
        {
            if (ropeType is not ("linear" or "llama3"))
                throw new NotSupportedException($"rope type '{ropeType}' is not supported (default, linear, llama3)");
            scaling = new RopeScaling(
                ropeType,
                Double(scalingSource, "factor") ?? 1.0,
                Double(scalingSource, "low_freq_factor") ?? 1.0,
                Double(scalingSource, "high_freq_factor") ?? 4.0,
                Long(scalingSource, "original_max_position_embeddings") ?? 8192);
        }

        bool isQwen2 = architecture == "Qwen2ForCausalLM";
        bool isMistral = architecture == "MistralForCausalLM";
        bool attentionBias = Bool(root, "attention_bias") ?? false;

        var windows = new long?[layers];
        long? window = Long(root, "sliding_window");
        if (window is > 0)
        {
            if (isMistral)
            {
                for (int i = 0; i < layers; i++) windows[i] = window;
            }
            else if (isQwen2 && (Bool(root, "use_sliding_window") ?? false))
            {
                if (root["layer_types"] is JsonArray types && types.Count == layers)
                    for (int i = 0; i < layers; i++) windows[i] = types[i]?.GetValue<string>() == "sliding_attention" ? window : null;
                else
                {
                    long maxWindowLayers = Long(root, "max_window_layers") ?? layers;
                    for (int i = 0; i < layers; i++) windows[i] = i >= maxWindowLayers ? window : null;
                }
            }
        }

        return new ModelConfig
        {
            ModelType = modelType,
            Architecture = architecture,
            VocabSize = Long(root, "vocab_size") ?? throw new InvalidDataException("config.json has no vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Long(root, "intermediate_size") ?? throw new InvalidDataException("config.json has no intermediate_size"),
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = Long(root, "head_dim") ?? hidden / heads,
            RmsNormEps = Double(root, "rms_norm_eps") ?? 1e-6,
            RopeTheta = theta,
            RopeScaling = scaling,
            MaxPositionEmbeddings = Long(root, "max_position_embeddings") ?? 2048,
            TieWordEmbeddings = Bool(root, "tie_word_embeddings") ?? false,
            QkvBias = isQwen2 || (!isMistral && attentionBias),
            OutputBias = !isQwen2 && !isMistral && attentionBias,
            MlpBias = !isQwen2 && !isMistral && (Bool(root, "mlp_bias") ?? false),
            SlidingWindows = windows,
            BosTokenId = Long(root, "bos_token_id"),
            EosTokenIds = root["eos_token_id"] switch
            {
                JsonArray a => a.Where(x => x is not null).Select(x => x!.GetValue<long>()).ToList(),
                JsonValue v when v.TryGetValue<long>(out var id) => [id],
                _ => [],
            },
            PadTokenId = Long(root, "pad_token_id"),
        };
    }

    static string? RopeTypeOf(JsonObject o) => Str(o, "rope_type") ?? Str(o, "type");

    static string? Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    static long? Long(JsonObject o, string key)
    {
        if (o[key] is not JsonValue v) return null;
        if (v.TryGetValue<long>(out var l)) return l;
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d)) return (long)d;
        return null;
    }

    static double? Double(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    static bool? Bool(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
}
