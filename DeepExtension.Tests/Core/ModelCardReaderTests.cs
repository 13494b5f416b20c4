using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Core;

public class ModelCardReaderTests
{
    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Read_ReferenceModel_MatchesConfigAndCountsEveryParameter(string name)
    {
        var folder = ReferenceModels.PathOf(name);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();

        var card = ModelCardReader.Read(folder);

        Assert.Equal(config["architectures"]![0]!.GetValue<string>(), card.Architecture);
        Assert.Equal(config["num_hidden_layers"]!.GetValue<int>(), card.NumLayers);
        Assert.Equal(config["num_attention_heads"]!.GetValue<int>(), card.NumAttentionHeads);
        Assert.Equal(config["num_key_value_heads"]!.GetValue<int>(), card.NumKeyValueHeads);
        Assert.Equal(config["vocab_size"]!.GetValue<int>(), card.VocabSize);
        Assert.Equal(config["hidden_size"]!.GetValue<int>(), card.HiddenSize);
        Assert.Equal(config["max_position_embeddings"]!.GetValue<int>(), card.ContextLength);
        Assert.Equal(ExpectedLlamaFamilyParameterCount(config), card.ParameterCount);
        Assert.True(card.HasTokenizer);
        Assert.True(card.HasChatTemplate);
        var weightFiles = WeightFilesOf(folder);
        Assert.Equal(weightFiles.Count, card.WeightFileCount);
        Assert.Equal(weightFiles.Sum(f => new FileInfo(Path.Combine(folder, f)).Length), card.WeightBytes);
    }

    [Fact]
    public void Read_TinyQwen2_ShowsTheIssuesExpectedCard()
    {
        var card = ModelCardReader.Read(ReferenceModels.BundledPathOf("tiny-qwen2"));

        Assert.Equal("Qwen2ForCausalLM", card.Architecture);
        Assert.Equal(2, card.NumLayers);
        Assert.Equal(4, card.NumAttentionHeads);
        Assert.Equal(2, card.NumKeyValueHeads);
        Assert.Equal(512, card.VocabSize);
        Assert.Equal(10000.0, card.RopeTheta);
        Assert.Equal("transformers-5", card.ConfigLayout);
        Assert.True(card.TieWordEmbeddings);
        Assert.Equal([2], card.EosTokenIds);
        Assert.Equal(["F32"], card.WeightDtypes);
    }

    [Fact]
    public void Read_Transformers4ConfigLayout_ReadsTopLevelRopeThetaAndScaling()
    {
        using var folder = TempModelFolder.CopyOf("tiny-llama");
        folder.EditConfig(config =>
        {
            config.Remove("rope_parameters");
            config["rope_theta"] = 500000.0;
            config["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0 };
            config.Remove("dtype");
            config["torch_dtype"] = "bfloat16";
        });

        var card = ModelCardReader.Read(folder.Path);

        Assert.Equal(500000.0, card.RopeTheta);
        Assert.Equal("llama3", card.RopeScalingType);
        Assert.Equal("transformers-4", card.ConfigLayout);
        Assert.Equal("bfloat16", card.Dtype);
    }

    [Fact]
    public void Read_ShardedWeightsWithIndex_SumsEveryShard()
    {
        using var folder = TempModelFolder.CopyOf("tiny-qwen2");
        var single = ModelCardReader.Read(folder.Path);
        var tensors = SafetensorsHeader.ReadTensors(System.IO.Path.Combine(folder.Path, "model.safetensors"));
        File.Move(System.IO.Path.Combine(folder.Path, "model.safetensors"), System.IO.Path.Combine(folder.Path, "model-00001-of-00002.safetensors"));
        File.Copy(System.IO.Path.Combine(folder.Path, "model-00001-of-00002.safetensors"), System.IO.Path.Combine(folder.Path, "model-00002-of-00002.safetensors"));
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject(),
            ["weight_map"] = new JsonObject(tensors.Select((t, i) =>
                KeyValuePair.Create(t.Name, (JsonNode?)JsonValue.Create(i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors")))),
        };
        File.WriteAllText(System.IO.Path.Combine(folder.Path, "model.safetensors.index.json"), index.ToJsonString());

        var card = ModelCardReader.Read(folder.Path);

        Assert.Equal(2, card.WeightFileCount);
        // Both shard files carry the full header here, so the count doubles: proof that every shard is read.
        Assert.Equal(single.ParameterCount * 2, card.ParameterCount);
    }

    [Fact]
    public void Read_IndexNamesMissingShard_ExplainsWhichShard()
    {
        using var folder = TempModelFolder.CopyOf("tiny-qwen2");
        File.Delete(System.IO.Path.Combine(folder.Path, "model.safetensors"));
        File.WriteAllText(System.IO.Path.Combine(folder.Path, "model.safetensors.index.json"),
            """{"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors"}}""");

        var error = Assert.Throws<ModelFolderException>(() => ModelCardReader.Read(folder.Path));

        Assert.Contains("model-00001-of-00002.safetensors", error.Message);
    }

    [Fact]
    public void Read_PytorchBinWeights_SaysOnlySafetensorsAreSupported()
    {
        using var folder = TempModelFolder.CopyOf("tiny-qwen2");
        File.Move(System.IO.Path.Combine(folder.Path, "model.safetensors"), System.IO.Path.Combine(folder.Path, "pytorch_model.bin"));

        var error = Assert.Throws<ModelFolderException>(() => ModelCardReader.Read(folder.Path));

        Assert.Contains("only safetensors", error.Message);
    }

    [Fact]
    public void Read_NoConfig_SaysItIsNotAModelFolder()
    {
        using var folder = TempModelFolder.CopyOf("tiny-qwen2");
        File.Delete(System.IO.Path.Combine(folder.Path, "config.json"));

        var error = Assert.Throws<ModelFolderException>(() => ModelCardReader.Read(folder.Path));

        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void Read_CorruptSafetensors_GivesAClearError()
    {
        using var folder = TempModelFolder.CopyOf("tiny-qwen2");
        File.WriteAllBytes(System.IO.Path.Combine(folder.Path, "model.safetensors"), [1, 2, 3]);

        var error = Assert.Throws<ModelFolderException>(() => ModelCardReader.Read(folder.Path));

        Assert.Contains("not a safetensors file", error.Message);
    }

    /// <summary>The folder's weight files as the Hugging Face layout defines them: the shards the index names, else model.safetensors.</summary>
    private static IReadOnlyList<string> WeightFilesOf(string folder)
    {
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (!File.Exists(index)) return ["model.safetensors"];
        var map = JsonNode.Parse(File.ReadAllText(index))!["weight_map"]!.AsObject();
        return map.Select(kv => kv.Value!.GetValue<string>()).Distinct().ToList();
    }

    /// <summary>Parameter count of a Llama-family decoder computed from its config alone.</summary>
    private static long ExpectedLlamaFamilyParameterCount(JsonObject c)
    {
        long h = c["hidden_size"]!.GetValue<int>();
        long v = c["vocab_size"]!.GetValue<int>();
        long layers = c["num_hidden_layers"]!.GetValue<int>();
        long heads = c["num_attention_heads"]!.GetValue<int>();
        long kvHeads = c["num_key_value_heads"]!.GetValue<int>();
        long inter = c["intermediate_size"]!.GetValue<int>();
        long headDim = c["head_dim"]?.GetValue<int>() ?? h / heads;
        var qkvBias = c["model_type"]!.GetValue<string>() == "qwen2" || (c["attention_bias"]?.GetValue<bool>() ?? false);
        var tied = c["tie_word_embeddings"]?.GetValue<bool>() ?? false;

        var attention = h * heads * headDim + 2 * h * kvHeads * headDim + heads * headDim * h
            + (qkvBias ? heads * headDim + 2 * kvHeads * headDim : 0);
        var perLayer = attention + 3 * h * inter + 2 * h;
        return v * h + (tied ? 0 : v * h) + h + layers * perLayer;
    }
}

/// <summary>A writable copy of a reference model in a temporary folder.</summary>
internal sealed class TempModelFolder : IDisposable
{
    private TempModelFolder(string path) => Path = path;

    public string Path { get; }

    public static TempModelFolder CopyOf(string referenceName)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "deepx-tests", Guid.NewGuid().ToString("N"));
        TestEnvironment.CopyDirectory(ReferenceModels.BundledPathOf(referenceName), path);
        return new TempModelFolder(path);
    }

    public void EditConfig(Action<JsonObject> edit)
    {
        var file = System.IO.Path.Combine(Path, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit(config);
        File.WriteAllText(file, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
