using System.Text.Json;
using DeepExtension.Jobs.Engine.Tokenization;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>
/// TestData/tokenizer-variants.json: tokenizers with Llama-3's and Qwen2's Split pre-tokenization,
/// ignore_merges and NFC, and the ids Hugging Face's tokenizers.js gives for them.
/// </summary>
public class HfTokenizerVariantTests
{
    private static string VariantsFile => Path.Combine(AppContext.BaseDirectory, "TestData", "tokenizer-variants.json");

    public static TheoryData<string> Variants
    {
        get
        {
            using var file = JsonDocument.Parse(File.ReadAllText(VariantsFile));
            var data = new TheoryData<string>();
            foreach (var variant in file.RootElement.GetProperty("variants").EnumerateArray()) data.Add(variant.GetProperty("name").GetString()!);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Encode_VariantSamples_GiveHuggingFaceIdsAndDecodeBack(string name)
    {
        using var file = JsonDocument.Parse(File.ReadAllText(VariantsFile));
        var variant = file.RootElement.GetProperty("variants").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);
        var tokenizer = HfTokenizer.FromJson(variant.GetProperty("tokenizer").GetRawText(), null);

        foreach (var sample in variant.GetProperty("samples").EnumerateArray())
        {
            var text = sample.GetProperty("text").GetString()!;
            var ids = sample.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

            Assert.Equal(ids, tokenizer.Encode(text));
            Assert.Equal(text.Normalize(), tokenizer.Decode(ids).Normalize());
        }
    }
}
