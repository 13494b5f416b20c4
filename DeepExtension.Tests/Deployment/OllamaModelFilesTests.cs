using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Deployment;

public class OllamaModelFilesTests
{
    [Fact]
    public void ModelFolder_ReferenceFolder_SendsConfigTokenizerAndWeightsButNotStrayFiles()
    {
        var files = OllamaModelFiles.ModelFolder(ReferenceModels.BundledPathOf("tiny-qwen2"));

        Assert.Equal(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"], files.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(files, f => Assert.Equal(new FileInfo(f.Path).Length, f.Length));
    }

    [Fact]
    public void ModelFolder_ShardIndex_SendsExactlyTheIndexedShards()
    {
        var folder = Directory.CreateTempSubdirectory("deepx-shards").FullName;
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        File.WriteAllText(Path.Combine(folder, "model-00001-of-00002.safetensors"), "a");
        File.WriteAllText(Path.Combine(folder, "model-00002-of-00002.safetensors"), "b");
        File.WriteAllText(Path.Combine(folder, "consolidated.safetensors"), "other checkpoint");
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            """{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}""");

        var names = OllamaModelFiles.ModelFolder(folder).Select(f => f.Name).ToList();

        Assert.Equal(["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"], names);
    }

    [Fact]
    public void ModelFolder_NoWeights_ThrowsWithTheReason()
    {
        var folder = Directory.CreateTempSubdirectory("deepx-noweights").FullName;
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");

        var error = Assert.Throws<InvalidOperationException>(() => OllamaModelFiles.ModelFolder(folder));

        Assert.Contains("No weights found: expected model.safetensors or model.safetensors.index.json.", error.Message);
    }

    [Fact]
    public void AdapterFolder_MissingWeights_ThrowsNamingTheFile()
    {
        var folder = Directory.CreateTempSubdirectory("deepx-adapter").FullName;
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), "{}");

        var error = Assert.Throws<InvalidOperationException>(() => OllamaModelFiles.AdapterFolder(folder));

        Assert.Contains("adapter_model.safetensors", error.Message);
    }

    [Fact]
    public void StopTokens_EosTokenAndGenerationConfigIds_AreCombinedWithoutDuplicates()
    {
        Assert.Equal(["<|im_end|>"], OllamaModelFiles.StopTokens(ReferenceModels.BundledPathOf("tiny-qwen2")));

        var folder = Directory.CreateTempSubdirectory("deepx-stops").FullName;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"eos_token":{"content":"<|end_of_text|>"}}""");
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), """{"eos_token_id":[7,9]}""");
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"),
            """{"added_tokens":[{"id":7,"content":"<|end_of_text|>"},{"id":9,"content":"<|eot_id|>"},{"id":3,"content":"<|other|>"}]}""");

        Assert.Equal(["<|end_of_text|>", "<|eot_id|>"], OllamaModelFiles.StopTokens(folder));
    }

    [Theory]
    [InlineData("llama", true)]
    [InlineData("gemma2", true)]
    [InlineData("qwen2", false)]
    [InlineData("mistral", false)]
    [InlineData(null, false)]
    public void OllamaImportsAdaptersFor_Architecture_OnlyLlamaAndGemma2(string? modelType, bool expected) =>
        Assert.Equal(expected, OllamaModelFiles.OllamaImportsAdaptersFor(modelType));
}

public class OllamaModelNameTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("tiny:q4_k_m")]
    [InlineData("team/tiny.v2-a:latest")]
    public void Validate_ValidNames_NoError(string name) => Assert.Null(OllamaModelName.Validate(name));

    [Theory]
    [InlineData("", "required")]
    [InlineData("-tiny", "starting with a letter or digit")]
    [InlineData("tiny model", "starting with a letter or digit")]
    [InlineData("a/b/c", "starting with a letter or digit")]
    public void Validate_InvalidNames_SaysWhy(string name, string fragment) => Assert.Contains(fragment, OllamaModelName.Validate(name));

    [Fact]
    public void Validate_PartLongerThan80_Refused() =>
        Assert.Contains("at most 80", OllamaModelName.Validate(new string('a', 81)));

    [Fact]
    public void DefaultFor_LongSourceName_LowercasedCutAndTaggedWithTheQuantization()
    {
        var name = OllamaModelName.DefaultFor("Tiny-Qwen2_" + new string('x', 100), OllamaQuantization.Q4_K_M);

        Assert.Null(OllamaModelName.Validate(name));
        Assert.StartsWith("tiny-qwen2_xxx", name);
        Assert.EndsWith(":q4_k_m", name);
        Assert.Equal("model:latest", OllamaModelName.DefaultFor("___", OllamaQuantization.None));
    }

    [Fact]
    public void SameModel_MissingTagAndCase_AreEquivalent()
    {
        Assert.True(OllamaModelName.SameModel("Tiny", "tiny:latest"));
        Assert.False(OllamaModelName.SameModel("tiny:q8_0", "tiny"));
    }
}
