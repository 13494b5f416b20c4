using System.Text.Json.Nodes;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>
/// A hand-written byte-level BPE tokenizer.json: added tokens &lt;eos&gt;=0, &lt;bos&gt;=1 (special) and
/// &lt;tool&gt;=2 (not special, lstrip); vocabulary a=3 b=4 Ġ=5 ab=6 Ġa=7 ba=8 ("Ġ" is the space byte);
/// merges "Ġ a" then "a b", so "ba" (in the vocabulary, but without a merge) stays two tokens.
/// </summary>
internal static class TinyTokenizer
{
    public static JsonObject Json(JsonNode? preTokenizer = null, JsonNode? postProcessor = null, bool ignoreMerges = false) => new()
    {
        ["added_tokens"] = new JsonArray(
            new JsonObject { ["id"] = 0, ["content"] = "<eos>", ["special"] = true },
            new JsonObject { ["id"] = 1, ["content"] = "<bos>", ["special"] = true },
            new JsonObject { ["id"] = 2, ["content"] = "<tool>", ["special"] = false, ["lstrip"] = true }),
        ["normalizer"] = null,
        ["pre_tokenizer"] = preTokenizer ?? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
        ["post_processor"] = postProcessor,
        ["model"] = new JsonObject
        {
            ["type"] = "BPE",
            ["ignore_merges"] = ignoreMerges,
            ["vocab"] = new JsonObject
            {
                ["<eos>"] = 0, ["<bos>"] = 1, ["<tool>"] = 2, ["a"] = 3, ["b"] = 4, ["Ġ"] = 5, ["ab"] = 6, ["Ġa"] = 7, ["ba"] = 8,
            },
            ["merges"] = new JsonArray(new JsonArray("Ġ", "a"), new JsonArray("a", "b")),
        },
    };

}
