using System.Text.Json;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.HuggingFace;

namespace DeepExtension.Core.Deployment;

/// <summary>A local file that becomes one blob of an Ollama model.</summary>
public sealed record OllamaUploadFile(string Name, string Path, long Length);

/// <summary>
/// Which files of a Hugging Face folder Ollama's safetensors import needs, and the stop strings a chat model ends on.
/// </summary>
public static class OllamaModelFiles
{
    private static readonly string[] MetadataFiles =
    [
        "config.json", "generation_config.json", "model.safetensors.index.json",
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "tokenizer.model", "vocab.json", "merges.txt",
    ];

    private static readonly string[] AdapterFiles = ["adapter_config.json", "adapter_model.safetensors"];

    /// <summary>Ollama converts safetensors adapters only for these base architectures (config.json model_type).</summary>
    public static bool OllamaImportsAdaptersFor(string? modelType) => modelType is "llama" or "gemma2";

    /// <summary>
    /// config, tokenizer files and exactly the weight files of the model (<see cref="ModelCardReader.FindWeightFiles"/>:
    /// the shards the index names, or model.safetensors). Stray files (READMEs, other checkpoints) are not sent.
    /// </summary>
    public static IReadOnlyList<OllamaUploadFile> ModelFolder(string folder)
    {
        if (!File.Exists(Path.Combine(folder, ModelCardReader.ConfigFile)))
            throw new InvalidOperationException($"{folder} has no config.json; it is not a Hugging Face model folder.");
        IReadOnlyList<string> weights;
        try
        {
            weights = ModelCardReader.FindWeightFiles(folder);
        }
        catch (ModelFolderException ex)
        {
            throw new InvalidOperationException($"{folder}: {ex.Message}", ex);
        }
        var names = MetadataFiles.Where(name => File.Exists(Path.Combine(folder, name))).Concat(weights.Select(Path.GetFileName).OfType<string>());
        return names.Distinct(StringComparer.Ordinal).Select(name => Describe(folder, name)).ToList();
    }

    /// <summary>The PEFT adapter files (adapter_config.json and adapter_model.safetensors).</summary>
    public static IReadOnlyList<OllamaUploadFile> AdapterFolder(string folder)
    {
        var missing = AdapterFiles.Where(name => !File.Exists(Path.Combine(folder, name))).ToList();
        if (missing.Count > 0) throw new InvalidOperationException($"The adapter folder lacks {string.Join(" and ", missing)}.");
        return AdapterFiles.Select(name => Describe(folder, name)).ToList();
    }

    /// <summary>
    /// The strings generation should stop at: the tokenizer's eos_token and the tokens of generation_config's
    /// eos_token_id (models like Llama 3 end turns with a token other than eos_token).
    /// </summary>
    public static IReadOnlyList<string> StopTokens(string folder)
    {
        var stops = new List<string>();
        var special = SpecialTokens.Read(folder);
        if (special.EosToken is { } eos) stops.Add(eos);
        var ids = special.GenerationEosTokenIds;
        if (ids.Count > 0 && ReadJson(Path.Combine(folder, "tokenizer.json")) is { } tokenizer
            && tokenizer.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                if (token.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && ids.Contains(id.GetInt32())
                    && token.TryGetProperty("content", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    stops.Add(text.GetString()!);
                }
            }
        }
        return stops.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList();
    }

    private static OllamaUploadFile Describe(string folder, string name)
    {
        var path = Path.Combine(folder, name);
        return new OllamaUploadFile(name, path, new FileInfo(path).Length);
    }

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
