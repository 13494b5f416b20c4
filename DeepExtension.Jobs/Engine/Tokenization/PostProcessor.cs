using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// What tokenizer.json's "post_processor" adds around a single sequence when special tokens are requested
/// (Llama-3: "&lt;|begin_of_text|&gt;" in front; Qwen2 and GPT-2: nothing).
/// </summary>
internal sealed record PostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    private static readonly PostProcessor Nothing = new([], []);

    public static PostProcessor FromJson(JsonElement json) =>
        json.ValueKind != JsonValueKind.Object ? Nothing : json.GetProperty("type").GetString() switch
        {
            "ByteLevel" => Nothing,
            "Sequence" => json.GetProperty("processors").EnumerateArray().Select(FromJson)
                .Aggregate(Nothing, (all, p) => new PostProcessor([.. p.Prefix, .. all.Prefix], [.. all.Suffix, .. p.Suffix])),
            "TemplateProcessing" => FromTemplate(json),
            "RobertaProcessing" or "BertProcessing" =>
                new PostProcessor([json.GetProperty("cls")[1].GetInt32()], [json.GetProperty("sep")[1].GetInt32()]),
            var type => throw new UnsupportedTokenizerException($"Post-processor type '{type}' is not supported."),
        };

    public int[] Apply(IReadOnlyList<int> ids) => [.. Prefix, .. ids, .. Suffix];

    // Later processors wrap the output of earlier ones.
    // "single" lists SpecialToken and Sequence items; the special tokens' ids live in "special_tokens".
    private static PostProcessor FromTemplate(JsonElement json)
    {
        var specialIds = json.GetProperty("special_tokens");
        var prefix = new List<int>();
        var suffix = new List<int>();
        var seenSequence = false;
        foreach (var item in json.GetProperty("single").EnumerateArray())
        {
            if (item.TryGetProperty("Sequence", out _))
            {
                seenSequence = true;
                continue;
            }
            var name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
            var ids = specialIds.GetProperty(name).GetProperty("ids").EnumerateArray().Select(e => e.GetInt32());
            (seenSequence ? suffix : prefix).AddRange(ids);
        }
        return new PostProcessor(prefix, suffix);
    }
}
