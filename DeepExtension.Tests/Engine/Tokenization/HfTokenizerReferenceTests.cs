using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>Every reference folder's tokenizer against the ids Hugging Face produced for it.</summary>
public class HfTokenizerReferenceTests
{
    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Encode_EveryReferenceSample_GivesHuggingFaceIds(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));
        var reference = ReferenceTokenizerData.Load(model);

        Assert.NotEmpty(reference.Samples);
        foreach (var (text, ids) in reference.Samples) Assert.Equal(ids, tokenizer.Encode(text));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Decode_EveryReferenceSample_GivesTextBack(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));

        foreach (var (text, ids) in ReferenceTokenizerData.Load(model).Samples) Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Encode_ChatTemplateText_GivesChatTemplateIds(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));
        var reference = ReferenceTokenizerData.Load(model);

        Assert.Equal(reference.ChatTemplateIds, tokenizer.Encode(reference.ChatTemplateText));
        Assert.Equal(reference.ChatTemplateText, tokenizer.Decode(reference.ChatTemplateIds));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void StreamingDecoder_EveryReferenceSample_EmitsOnlyWholeCharactersAndTheFullText(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));

        foreach (var (text, ids) in ReferenceTokenizerData.Load(model).Samples)
        {
            var decoder = tokenizer.CreateStreamingDecoder();
            var pieces = ids.Select(decoder.Append).ToList();

            Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
            Assert.Equal(text, string.Concat(pieces) + decoder.Flush());
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void EncodeWithOffsets_EveryReferenceSample_TilesTheTextWithEachTokensCharacters(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));

        foreach (var (text, _) in ReferenceTokenizerData.Load(model).Samples.Append((ReferenceTokenizerData.Load(model).ChatTemplateText, [])))
        {
            var tokens = tokenizer.EncodeWithOffsets(text);

            Assert.Equal(tokenizer.Encode(text), tokens.Select(t => t.Id));
            Assert.Equal(0, tokens[0].Start);
            Assert.Equal(text.Length, tokens[^1].End);
            foreach (var (previous, next) in tokens.Zip(tokens.Skip(1)))
                Assert.InRange(next.Start, previous.Start, previous.End);
            foreach (var token in tokens.Where(t => !tokenizer.Decode([t.Id]).Contains('\uFFFD')))
                Assert.Equal(tokenizer.Decode([token.Id]), text[token.Start..token.End]);
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Decode_SkipSpecialTokens_DropsOnlySpecialTokens(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));
        var reference = ReferenceTokenizerData.Load(model);
        var expected = tokenizer.SpecialTokenIds
            .Select(id => tokenizer.IdToToken(id)!)
            .Aggregate(reference.ChatTemplateText, (text, special) => text.Replace(special, ""));

        Assert.Equal(expected, tokenizer.Decode(reference.ChatTemplateIds, skipSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Load_TokenizerConfig_ResolvesNamedTokensToTheirIds(string model)
    {
        var folder = ReferenceModels.PathOf(model);
        var tokenizer = HfTokenizer.Load(folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!;

        Assert.Equal(NamedId(tokenizer, config["eos_token"]), tokenizer.EosTokenId);
        Assert.Equal(NamedId(tokenizer, config["pad_token"]), tokenizer.PadTokenId);
        Assert.Equal(NamedId(tokenizer, config["bos_token"]), tokenizer.BosTokenId);
        Assert.NotNull(tokenizer.EosTokenId);
        Assert.Contains(tokenizer.EosTokenId!.Value, tokenizer.SpecialTokenIds);
        Assert.Contains(tokenizer.AddedTokens, t => t.Id == tokenizer.EosTokenId && t.Special);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Load_MergesAsSpaceSeparatedStrings_GivesTheSameIds(string model)
    {
        var folder = ReferenceModels.PathOf(model);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer.json")))!;
        var merges = json["model"]!["merges"]!.AsArray();
        var oldStyle = new JsonArray(merges.Select(m => (JsonNode)JsonValue.Create(
            m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m!.GetValue<string>())!).ToArray());
        json["model"]!["merges"] = oldStyle;

        var tokenizer = HfTokenizer.FromJson(json.ToJsonString(), File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")));

        foreach (var (text, ids) in ReferenceTokenizerData.Load(model).Samples) Assert.Equal(ids, tokenizer.Encode(text));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void VocabSize_ReferenceTokenizer_CoversEveryId(string model)
    {
        var tokenizer = HfTokenizer.Load(ReferenceModels.PathOf(model));
        using var vocab = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceModels.PathOf(model), "tokenizer.json")));
        var maxId = vocab.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Max(p => p.Value.GetInt32());

        Assert.True(tokenizer.VocabSize > maxId);
        Assert.All(Enumerable.Range(0, tokenizer.VocabSize), id => Assert.NotNull(tokenizer.IdToToken(id)));
    }

    private static int? NamedId(HfTokenizer tokenizer, JsonNode? entry) => entry switch
    {
        null => null,
        JsonObject token => tokenizer.TokenToId(token["content"]!.GetValue<string>()),
        _ => tokenizer.TokenToId(entry.GetValue<string>()),
    };
}
