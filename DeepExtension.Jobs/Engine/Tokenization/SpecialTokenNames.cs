using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// tokenizer_config.json's named tokens and its added_tokens_decoder. Token entries are either a plain
/// string or, in older files, an AddedToken object with a "content" field.
/// </summary>
internal sealed record SpecialTokenNames(string? Bos, string? Eos, string? Pad, IReadOnlyList<AddedToken> AddedTokens)
{
    public static readonly SpecialTokenNames None = new(null, null, null, []);

    public static SpecialTokenNames FromJson(JsonElement config) => new(
        ReadToken(config, "bos_token"),
        ReadToken(config, "eos_token"),
        ReadToken(config, "pad_token"),
        config.TryGetProperty("added_tokens_decoder", out var decoder)
            ? decoder.EnumerateObject().Select(p => ReadAddedToken(int.Parse(p.Name), p.Value)).ToList()
            : []);

    /// <summary>An added token as both files spell it (tokenizer.json's list carries the id inside).</summary>
    public static AddedToken ReadAddedToken(int id, JsonElement json) => new(
        id,
        json.GetProperty("content").GetString()!,
        Flag(json, "special"),
        Flag(json, "lstrip"),
        Flag(json, "rstrip"),
        Flag(json, "single_word"));

    private static bool Flag(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static string? ReadToken(JsonElement config, string name) =>
        !config.TryGetProperty(name, out var value) ? null : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object => value.GetProperty("content").GetString(),
            _ => null,
        };
}
