using DeepExtension.Core.HuggingFace;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Core;

public class SpecialTokensTests
{
    [Theory]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-llama")]
    public void Read_BundledReferenceModel_GivesTheTokenizerConfigsEosAndTheGenerationConfigsIds(string name)
    {
        // The values of the bundled files (see their README), so the bundled copy.
        var tokens = SpecialTokens.Read(ReferenceModels.BundledPathOf(name));

        Assert.Equal("<|im_end|>", tokens.EosToken);
        Assert.Equal([2], tokens.EosTokenIds);
        Assert.Equal([2], tokens.GenerationEosTokenIds);
        Assert.Equal(0, tokens.PadTokenId);
        Assert.Null(tokens.BosTokenId);
        Assert.False(tokens.Named.ContainsKey("bos_token")); // null in the file
    }

    [Fact]
    public void Read_ObjectTokensIdListsAndNoGenerationConfig_ReadsEveryFormAndFallsBackToConfig()
    {
        var folder = Directory.CreateTempSubdirectory("deepx-special-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
                """{"eos_token": {"content": "</s>", "special": true}, "unk_token": "<unk>", "pad_token": null, "chat_template": "x"}""");
            File.WriteAllText(Path.Combine(folder, "config.json"), """{"eos_token_id": [7, 9], "bos_token_id": 1}""");

            var tokens = SpecialTokens.Read(folder);

            Assert.Equal(new Dictionary<string, string> { ["eos_token"] = "</s>", ["unk_token"] = "<unk>" }, tokens.Named);
            Assert.Equal([7, 9], tokens.EosTokenIds);
            Assert.Empty(tokens.GenerationEosTokenIds);
            Assert.Equal(1, tokens.BosTokenId);
            Assert.False(tokens.DoSample);

            File.WriteAllText(Path.Combine(folder, "generation_config.json"), """{"eos_token_id": [11, 12], "do_sample": true, "temperature": 0.6, "top_p": 0.9}""");
            var withGeneration = SpecialTokens.Read(folder);
            Assert.Equal([11, 12], withGeneration.EosTokenIds);
            Assert.True(withGeneration.DoSample);
            Assert.Equal(0.6, withGeneration.Temperature);
            Assert.Equal(0.9, withGeneration.TopP);

            File.WriteAllText(Path.Combine(folder, "generation_config.json"), "{ not json");
            Assert.Equal([7, 9], SpecialTokens.Read(folder).EosTokenIds);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
