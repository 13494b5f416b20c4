using System.Text.Json.Nodes;
using DeepExtension.Jobs.Engine.Tokenization;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>Behaviour of the loader on small hand-written tokenizer.json files.</summary>
public class HfTokenizerTests
{
    private static HfTokenizer Load(JsonObject tokenizer, string? config = null) =>
        HfTokenizer.FromJson(tokenizer.ToJsonString(), config);

    [Fact]
    public void Encode_AddedTokenInsideText_IsMatchedWholeBeforeBpe()
    {
        var tokenizer = Load(TinyTokenizer.Json());

        Assert.Equal([3, 0, 6, 1], tokenizer.Encode("a<eos>ab<bos>"));
    }

    [Fact]
    public void Encode_AddedTokenWithLeftStrip_SwallowsPrecedingSpaces()
    {
        var tokenizer = Load(TinyTokenizer.Json());

        Assert.Equal([3, 2, 3], tokenizer.Encode("a  <tool>a"));
    }

    [Fact]
    public void Encode_WordInVocabularyWithoutMergePath_IsSplitUnlessIgnoreMerges()
    {
        Assert.Equal([4, 3], Load(TinyTokenizer.Json()).Encode("ba"));
        Assert.Equal([8], Load(TinyTokenizer.Json(ignoreMerges: true)).Encode("ba"));
    }

    [Fact]
    public void Encode_SequenceOfSplitAndByteLevel_SplitsWithTheFilesRegex()
    {
        var preTokenizer = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "a" }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
        };

        // Every "a" stands alone, so the "ab" merge never applies.
        Assert.Equal([3, 4, 5, 3], Load(TinyTokenizer.Json(preTokenizer)).Encode("ab a"));
        Assert.Equal([6, 7], Load(TinyTokenizer.Json()).Encode("ab a"));
    }

    [Fact]
    public void Encode_AddSpecialTokensWithTemplateProcessing_AddsTheTemplatesTokens()
    {
        var postProcessor = JsonNode.Parse("""
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "special_tokens": {"<bos>": {"id": "<bos>", "ids": [1], "tokens": ["<bos>"]}}}
            """);
        var tokenizer = Load(TinyTokenizer.Json(postProcessor: postProcessor));

        Assert.Equal([1, 6], tokenizer.Encode("ab", addSpecialTokens: true));
        Assert.Equal([6], tokenizer.Encode("ab"));
    }

    [Fact]
    public void Load_TokenizerConfigWithObjectTokens_ResolvesBosEosPad()
    {
        var config = """{"bos_token": {"content": "<bos>", "__type": "AddedToken"}, "eos_token": "<eos>", "pad_token": null}""";
        var tokenizer = Load(TinyTokenizer.Json(), config);

        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(0, tokenizer.EosTokenId);
        Assert.Null(tokenizer.PadTokenId);
        Assert.Equal(new HashSet<int> { 0, 1 }, tokenizer.SpecialTokenIds);
    }

    [Fact]
    public void Decode_SkipSpecialTokens_KeepsNonSpecialAddedTokens()
    {
        var tokenizer = Load(TinyTokenizer.Json());

        Assert.Equal("<bos>ab<tool> a<eos>", tokenizer.Decode([1, 6, 2, 7, 0]));
        Assert.Equal("ab<tool> a", tokenizer.Decode([1, 6, 2, 7, 0], skipSpecialTokens: true));
    }

    [Fact]
    public void Decode_UnknownId_ThrowsNamingTheId()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Load(TinyTokenizer.Json()).Decode([3, 99]));

        Assert.Contains("99", error.Message);
    }

    [Theory]
    [InlineData("Unigram")]
    [InlineData("WordPiece")]
    public void Load_NonBpeModel_ThrowsNamingTheModelType(string type)
    {
        var tokenizer = TinyTokenizer.Json();
        tokenizer["model"]!["type"] = type;

        var error = Assert.Throws<UnsupportedTokenizerException>(() => Load(tokenizer));

        Assert.Contains($"'{type}'", error.Message);
    }

    [Fact]
    public void Load_SentencePieceStyleBpeWithByteFallback_ThrowsNamingIt()
    {
        var tokenizer = TinyTokenizer.Json();
        tokenizer["model"]!["byte_fallback"] = true;
        tokenizer["pre_tokenizer"] = null;

        var error = Assert.Throws<UnsupportedTokenizerException>(() => Load(tokenizer));

        Assert.Contains("SentencePiece", error.Message);
    }

    [Fact]
    public void Load_NoPreTokenizer_ThrowsUnsupported()
    {
        var tokenizer = TinyTokenizer.Json();
        tokenizer.Remove("pre_tokenizer");
        tokenizer.Remove("normalizer");
        tokenizer.Remove("post_processor");

        Assert.Throws<UnsupportedTokenizerException>(() => Load(tokenizer));
    }

    [Fact]
    public void Load_MetaspacePreTokenizer_ThrowsNamingThePreTokenizer()
    {
        var error = Assert.Throws<UnsupportedTokenizerException>(
            () => Load(TinyTokenizer.Json(new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁" })));

        Assert.Contains("'Metaspace'", error.Message);
    }

    [Fact]
    public void StreamingDecoder_EmojiSplitAcrossTokens_WaitsForTheWholeCharacter()
    {
        var decoder = WithOneTokenPerByteOf("😀").CreateStreamingDecoder();

        var pieces = Enumerable.Range(100, 4).Select(decoder.Append).ToList();

        Assert.Equal(["", "", "", "😀"], pieces);
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void StreamingDecoder_StreamEndsInsideACharacter_FlushGivesReplacementCharacter()
    {
        var decoder = WithOneTokenPerByteOf("😀").CreateStreamingDecoder();

        Assert.Equal("", decoder.Append(100));
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    // Ids 100, 101, ... for the single UTF-8 bytes of the text, in byte-level spelling.
    private static HfTokenizer WithOneTokenPerByteOf(string text)
    {
        var tokenizer = TinyTokenizer.Json();
        var vocab = tokenizer["model"]!["vocab"]!.AsObject();
        var spelled = ByteLevelAlphabet.Encode(text);
        for (var i = 0; i < spelled.Length; i++) vocab[spelled[i].ToString()] = 100 + i;
        return Load(tokenizer);
    }
}
