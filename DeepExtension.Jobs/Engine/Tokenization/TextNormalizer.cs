using System.Text;
using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// tokenizer.json's "normalizer", applied to text outside added tokens. Byte-level BPE models use none or
/// a Unicode normal form (Qwen2: NFC); anything else would change ids silently, so it is refused.
/// </summary>
internal sealed class TextNormalizer
{
    private readonly IReadOnlyList<NormalizationForm> _forms;

    private TextNormalizer(IReadOnlyList<NormalizationForm> forms) => _forms = forms;

    public static TextNormalizer FromJson(JsonElement normalizer)
    {
        if (normalizer.ValueKind != JsonValueKind.Object) return new TextNormalizer([]);
        var steps = normalizer.GetProperty("type").GetString() == "Sequence"
            ? normalizer.GetProperty("normalizers").EnumerateArray().ToList()
            : [normalizer];
        return new TextNormalizer(steps.Select(ReadForm).ToList());
    }

    public string Normalize(string text) => _forms.Aggregate(text, (t, form) => t.Normalize(form));

    private static NormalizationForm ReadForm(JsonElement step) => step.GetProperty("type").GetString() switch
    {
        "NFC" => NormalizationForm.FormC,
        "NFD" => NormalizationForm.FormD,
        "NFKC" => NormalizationForm.FormKC,
        "NFKD" => NormalizationForm.FormKD,
        var type => throw new UnsupportedTokenizerException($"Normalizer type '{type}' is not supported."),
    };
}
