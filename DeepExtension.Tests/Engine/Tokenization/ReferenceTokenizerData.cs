using System.Text.Json;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>The tokenizer parts of a reference folder's reference.json (ground truth from Hugging Face).</summary>
internal sealed record ReferenceTokenizerData(
    IReadOnlyList<(string Text, int[] Ids)> Samples, string ChatTemplateText, int[] ChatTemplateIds)
{
    public static ReferenceTokenizerData Load(string modelName)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceModels.PathOf(modelName), "reference.json")));
        var root = json.RootElement;
        return new ReferenceTokenizerData(
            root.GetProperty("tokenizer").EnumerateArray()
                .Select(s => (s.GetProperty("text").GetString()!, Ids(s.GetProperty("ids"))))
                .ToList(),
            root.GetProperty("chat_template_text").GetString()!,
            Ids(root.GetProperty("chat_template_ids")));
    }

    private static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
