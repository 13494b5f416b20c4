using System.Text.Json;

namespace DeepExtension.Core.HuggingFace;

/// <summary>
/// The special tokens a Hugging Face model folder declares, read in one place: the named tokens of
/// <c>tokenizer_config.json</c> (text) and the token ids of <c>generation_config.json</c> with <c>config.json</c>
/// as fallback, plus generation_config's sampling defaults. Used by the model card, the Ollama stop strings, the
/// engine's stop ids (generate, GRPO sampling), the tokenizer and the chat template. Missing or unreadable files
/// count as empty: none of them is required to train.
/// </summary>
public sealed record SpecialTokens
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string GenerationConfigFile = "generation_config.json";
    public const string ConfigFile = "config.json";

    /// <summary>The token names transformers passes to chat templates, in its order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"];

    /// <summary>tokenizer_config.json's named tokens that are set (<c>"eos_token": "&lt;/s&gt;"</c>), by name.</summary>
    public IReadOnlyDictionary<string, string> Named { get; init; } = new Dictionary<string, string>();

    /// <summary>generation_config.json's <c>eos_token_id</c> (one id or a list), else config.json's.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>generation_config.json's <c>eos_token_id</c> alone (the turn ends a chat model generates).</summary>
    public IReadOnlyList<int> GenerationEosTokenIds { get; init; } = [];

    public int? BosTokenId { get; init; }
    public int? PadTokenId { get; init; }

    /// <summary>generation_config.json's sampling defaults: <c>do_sample</c>, <c>temperature</c>, <c>top_p</c>.</summary>
    public bool DoSample { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }

    public string? EosToken => Named.GetValueOrDefault("eos_token");

    public static SpecialTokens Read(string folder)
    {
        var tokenizerConfig = ReadObject(Path.Combine(folder, TokenizerConfigFile));
        var generation = ReadObject(Path.Combine(folder, GenerationConfigFile));
        var config = ReadObject(Path.Combine(folder, ConfigFile));
        var generationEos = TokenIds(generation, "eos_token_id");
        return new SpecialTokens
        {
            Named = tokenizerConfig is { } t ? NamedTokens(t) : new Dictionary<string, string>(),
            GenerationEosTokenIds = generationEos,
            EosTokenIds = generationEos.Count > 0 ? generationEos : TokenIds(config, "eos_token_id"),
            BosTokenId = TokenIds(generation, "bos_token_id").Concat(TokenIds(config, "bos_token_id")).Select(id => (int?)id).FirstOrDefault(),
            PadTokenId = TokenIds(generation, "pad_token_id").Concat(TokenIds(config, "pad_token_id")).Select(id => (int?)id).FirstOrDefault(),
            DoSample = generation is { } g && g.TryGetProperty("do_sample", out var sample) && sample.ValueKind == JsonValueKind.True,
            Temperature = Number(generation, "temperature"),
            TopP = Number(generation, "top_p"),
        };
    }

    /// <summary>
    /// The text of each of <paramref name="ids"/> that the folder's tokenizer declares as an added token
    /// (tokenizer_config.json's <c>added_tokens_decoder</c>, else tokenizer.json's <c>added_tokens</c>): what a model
    /// card shows next to the ids ("2 (&lt;|im_end|&gt;)"). Ids it does not declare are left out.
    /// </summary>
    public static IReadOnlyDictionary<int, string> TextsOf(string folder, IEnumerable<int> ids)
    {
        var wanted = ids.ToHashSet();
        var texts = new Dictionary<int, string>();
        if (wanted.Count == 0) return texts;
        if (ReadObject(Path.Combine(folder, TokenizerConfigFile)) is { } config && config.TryGetProperty("added_tokens_decoder", out var decoder)
            && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (var token in decoder.EnumerateObject())
            {
                if (int.TryParse(token.Name, out var id) && wanted.Contains(id) && token.Value.ValueKind == JsonValueKind.Object
                    && token.Value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    texts[id] = content.GetString()!;
            }
        }
        if (texts.Count < wanted.Count && ReadObject(Path.Combine(folder, "tokenizer.json")) is { } tokenizer
            && tokenizer.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                if (token.ValueKind == JsonValueKind.Object && token.TryGetProperty("id", out var idValue) && idValue.TryGetInt32(out var id)
                    && wanted.Contains(id) && !texts.ContainsKey(id) && token.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    texts[id] = content.GetString()!;
            }
        }
        return texts;
    }

    /// <summary>The named tokens of a tokenizer_config.json object: a plain string or, in older files, an AddedToken
    /// object with a "content" field; null entries are left out.</summary>
    public static IReadOnlyDictionary<string, string> NamedTokens(JsonElement tokenizerConfig)
    {
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        if (tokenizerConfig.ValueKind != JsonValueKind.Object) return tokens;
        foreach (var name in Names)
        {
            if (!tokenizerConfig.TryGetProperty(name, out var value)) continue;
            var text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
                _ => null,
            };
            if (text is not null) tokens[name] = text;
        }
        return tokens;
    }

    /// <summary>A token id field: one number or a list of numbers (other entries ignored); empty when absent.</summary>
    public static IReadOnlyList<int> TokenIds(JsonElement? element, string name)
    {
        if (element is not { ValueKind: JsonValueKind.Object } e || !e.TryGetProperty(name, out var value)) return [];
        return value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt32(out var id) => [id],
            JsonValueKind.Array => value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out _)).Select(v => v.GetInt32()).ToList(),
            _ => [],
        };
    }

    private static double? Number(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static JsonElement? ReadObject(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
