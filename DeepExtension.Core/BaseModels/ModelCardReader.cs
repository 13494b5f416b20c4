using System.Text.Json;
using DeepExtension.Core.HuggingFace;

namespace DeepExtension.Core.BaseModels;

/// <summary>
/// Builds a <see cref="ModelCard"/> from a Hugging Face model folder. Throws <see cref="ModelFolderException"/>
/// with a user-facing message when the folder is not a usable model.
/// </summary>
public static class ModelCardReader
{
    public const string ConfigFile = "config.json";
    public const string SingleWeightsFile = "model.safetensors";
    public const string WeightsIndexFile = "model.safetensors.index.json";

    public static ModelCard Read(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new ModelFolderException("The folder does not exist.");
        }

        var configPath = Path.Combine(folder, ConfigFile);
        if (!File.Exists(configPath))
        {
            throw new ModelFolderException("The folder has no config.json, so it is not a Hugging Face model folder.");
        }

        using var config = ParseJsonObject(configPath);
        using var tokenizerConfig = TryParseJsonObject(Path.Combine(folder, "tokenizer_config.json"));
        var c = config.RootElement;

        var architecture = c.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array
            && archs.GetArrayLength() > 0 ? archs[0].GetString() : null;
        architecture ??= GetString(c, "model_type")
            ?? throw new ModelFolderException("config.json names no architecture (no \"architectures\" or \"model_type\").");

        var weightFiles = FindWeightFiles(folder);
        var tensors = weightFiles.SelectMany(ReadTensors).ToList();

        var numHeads = GetInt(c, "num_attention_heads", "n_head");
        var (ropeTheta, ropeType, layout) = ReadRope(c);

        var specialTokens = SpecialTokens.Read(folder);

        return new ModelCard
        {
            Architecture = architecture,
            ModelType = GetString(c, "model_type"),
            ParameterCount = tensors.Sum(t => t.ElementCount),
            HiddenSize = GetInt(c, "hidden_size", "n_embd", "d_model"),
            IntermediateSize = GetInt(c, "intermediate_size", "n_inner"),
            NumLayers = GetInt(c, "num_hidden_layers", "n_layer"),
            NumAttentionHeads = numHeads,
            NumKeyValueHeads = GetInt(c, "num_key_value_heads") ?? numHeads,
            HeadDim = GetInt(c, "head_dim"),
            VocabSize = GetInt(c, "vocab_size"),
            ContextLength = GetInt(c, "max_position_embeddings", "n_positions", "seq_length"),
            Dtype = GetString(c, "dtype") ?? GetString(c, "torch_dtype"),
            RopeTheta = ropeTheta,
            RopeScalingType = ropeType,
            ConfigLayout = layout,
            TieWordEmbeddings = GetBool(c, "tie_word_embeddings"),
            RmsNormEps = GetDouble(c, "rms_norm_eps"),
            BosTokenId = specialTokens.BosTokenId,
            EosTokenIds = specialTokens.EosTokenIds,
            PadTokenId = specialTokens.PadTokenId,
            SpecialTokenTexts = SpecialTokens.TextsOf(folder,
                [.. specialTokens.EosTokenIds, .. specialTokens.BosTokenId is { } bos ? [bos] : Array.Empty<int>(), .. specialTokens.PadTokenId is { } pad ? [pad] : Array.Empty<int>()]),
            HasTokenizer = File.Exists(Path.Combine(folder, "tokenizer.json"))
                || File.Exists(Path.Combine(folder, "tokenizer.model")),
            HasChatTemplate = File.Exists(Path.Combine(folder, "chat_template.jinja"))
                || File.Exists(Path.Combine(folder, "chat_template.json"))
                || (tokenizerConfig?.RootElement.TryGetProperty("chat_template", out var template) == true
                    && template.ValueKind is JsonValueKind.String or JsonValueKind.Array),
            TransformersVersion = GetString(c, "transformers_version"),
            WeightFileCount = weightFiles.Count,
            WeightBytes = weightFiles.Sum(f => new FileInfo(f).Length),
            WeightDtypes = tensors.Select(t => t.Dtype).Distinct().Order(StringComparer.Ordinal).ToList(),
        };
    }

    /// <summary>The safetensors files that hold the weights: one file, or the shards an index names.</summary>
    public static IReadOnlyList<string> FindWeightFiles(string folder)
    {
        var indexPath = Path.Combine(folder, WeightsIndexFile);
        if (File.Exists(indexPath))
        {
            using var index = ParseJsonObject(indexPath);
            if (!index.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFolderException($"{WeightsIndexFile} has no \"weight_map\".");
            }
            var shards = map.EnumerateObject().Select(p => p.Value.GetString() ?? "").Distinct().Order().ToList();
            var missing = shards.Where(s => !File.Exists(Path.Combine(folder, s))).ToList();
            if (missing.Count > 0)
            {
                throw new ModelFolderException(
                    $"{WeightsIndexFile} names shards that are missing: {string.Join(", ", missing.Take(5))}" +
                    (missing.Count > 5 ? $" and {missing.Count - 5} more." : "."));
            }
            return shards.Select(s => Path.Combine(folder, s)).ToList();
        }

        var single = Path.Combine(folder, SingleWeightsFile);
        if (File.Exists(single))
        {
            return [single];
        }

        if (File.Exists(Path.Combine(folder, "pytorch_model.bin")) || Directory.GetFiles(folder, "pytorch_model-*.bin").Length > 0)
        {
            throw new ModelFolderException(
                "The weights are in PyTorch .bin format; only safetensors weights are supported. Convert them with safetensors first.");
        }
        var otherSafetensors = Directory.GetFiles(folder, "*.safetensors");
        if (otherSafetensors.Length > 0)
        {
            throw new ModelFolderException(
                $"Found {otherSafetensors.Length} .safetensors file(s) but neither {SingleWeightsFile} nor {WeightsIndexFile}.");
        }
        throw new ModelFolderException($"No weights found: expected {SingleWeightsFile} or {WeightsIndexFile}.");
    }

    private static IReadOnlyList<SafetensorsTensorInfo> ReadTensors(string path)
    {
        try
        {
            return SafetensorsHeader.ReadTensors(path);
        }
        catch (InvalidDataException ex)
        {
            throw new ModelFolderException(ex.Message);
        }
    }

    private static (double? Theta, string? ScalingType, string? Layout) ReadRope(JsonElement c)
    {
        // transformers 5 nests rope settings in rope_parameters; transformers 4 has rope_theta (+ rope_scaling) at the top.
        if (c.TryGetProperty("rope_parameters", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            var type = GetString(p, "rope_type") ?? GetString(p, "type");
            return (GetDouble(p, "rope_theta") ?? GetDouble(c, "rope_theta"), type == "default" ? null : type, "transformers-5");
        }
        string? scaling = null;
        if (c.TryGetProperty("rope_scaling", out var s) && s.ValueKind == JsonValueKind.Object)
        {
            scaling = GetString(s, "rope_type") ?? GetString(s, "type");
            if (scaling == "default") scaling = null;
        }
        var theta = GetDouble(c, "rope_theta");
        return (theta, scaling, theta is null && scaling is null ? null : "transformers-4");
    }

    private static string? GetString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? GetInt(JsonElement e, params string[] names)
    {
        foreach (var name in names)
        {
            if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
        }
        return null;
    }

    private static double? GetDouble(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static bool? GetBool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static JsonDocument ParseJsonObject(string path)
    {
        try
        {
            var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new ModelFolderException($"{Path.GetFileName(path)} is not a JSON object.");
            }
            return document;
        }
        catch (JsonException ex)
        {
            throw new ModelFolderException($"{Path.GetFileName(path)} is not valid JSON: {ex.Message}");
        }
    }

    private static JsonDocument? TryParseJsonObject(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return ParseJsonObject(path);
        }
        catch (ModelFolderException)
        {
            // Optional files: a broken generation/tokenizer config does not make the model unusable for training.
            return null;
        }
    }
}
