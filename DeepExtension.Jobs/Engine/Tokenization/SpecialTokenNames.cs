using System.Text.Json;
using DeepExtension.Core.HuggingFace;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// tokenizer_config.json's named tokens (read by <see cref="SpecialTokens.NamedTokens"/>) and its added_tokens_decoder.
/// </summary>
internal sealed record SpecialTokenNames(string? Bos, string? Eos, string? Pad, IReadOnlyList<AddedToken> AddedTokens)
{
    public static readonly SpecialTokenNames None = new(null, null, null, []);

    public static SpecialTokenNames FromJson(JsonElement config)
    {
        var named = SpecialTokens.NamedTokens(config);
        return new(
            named.GetValueOrDefault("bos_token"),
            named.GetValueOrDefault("eos_token"),
            named.GetValueOrDefault("pad_token"),
            config.TryGetProperty("added_tokens_decoder", out var decoder)
                ? decoder.EnumerateObject().Select(p => ReadAddedToken(int.Parse(p.Name), p.Value)).ToList()
                : []);
    }

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
}
