using System.Text.Json.Nodes;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Lora;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class MergedModelWriterTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void MergedFolder_LoadsAndGivesMergedLogits(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        string baseDir = ReferenceModels.PathOf(model);
        foreach (var (sub, shardBytes) in new[] { ("single", MergedModelWriter.DefaultMaxShardBytes), ("sharded", 60_000L) })
        {
            string outDir = Path.Combine(temp.Path, sub);
            MergedModelWriter.Write(baseDir, LoraParityTests.AdapterOf(model), outDir, shardBytes);
            Assert.Equal(sub == "sharded", File.Exists(Path.Combine(outDir, "model.safetensors.index.json")));
            Assert.Equal(sub == "single", File.Exists(Path.Combine(outDir, "model.safetensors")));

            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!.AsObject();
            Assert.False(config.ContainsKey("rope_parameters"));
            Assert.Equal(ModelConfig.Load(baseDir).RopeTheta, config["rope_theta"]!.GetValue<double>());
            Assert.Equal("float32", config["torch_dtype"]!.GetValue<string>());
            foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json" })
                if (File.Exists(Path.Combine(baseDir, f)))
                    Assert.Equal(File.ReadAllBytes(Path.Combine(baseDir, f)), File.ReadAllBytes(Path.Combine(outDir, f)));

            using var reference = LoraParityTests.ReferenceTensors(model);
            using var lm = ForCausalLM.FromPretrained(outDir);
            using var noGrad = torch.no_grad();
            double diff = TensorAssert.MaxAbsDiff(reference.Load("merged_logits"), lm.forward(reference.Load("input_ids"), reference.Load("attention_mask")));
            output.WriteLine($"{model} ({sub}): merged folder logits max |diff| {diff:G3}");
            Assert.True(diff <= 1e-4, $"{model}: merged folder logits differ by {diff}");
            using var written = SafetensorsCheckpoint.Open(outDir);
            using var original = SafetensorsCheckpoint.Open(baseDir);
            Assert.Equal(original.Names, written.Names);
            foreach (var name in reference.Names.Where(n => n.StartsWith("merged.", StringComparison.Ordinal)))
                Assert.True(TensorAssert.MaxAbsDiff(reference.Load(name), written.Load(name["merged.".Length..])) <= 1e-6, name);
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Bfloat16Base_StaysBfloat16(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        string baseDir = ReferenceModels.PathOf(model);
        string bf16 = Path.Combine(temp.Path, "base-bf16");
        Directory.CreateDirectory(bf16);
        using (var original = SafetensorsCheckpoint.Open(baseDir))
            SafetensorsWriter.Save(Path.Combine(bf16, "model.safetensors"), original.Names.ToDictionary(n => n, n => original.Load(n, ScalarType.BFloat16)));
        File.Copy(Path.Combine(baseDir, "config.json"), Path.Combine(bf16, "config.json"));

        string outDir = Path.Combine(temp.Path, "merged");
        MergedModelWriter.Write(bf16, LoraParityTests.AdapterOf(model), outDir);
        using (var written = SafetensorsCheckpoint.Open(outDir))
            Assert.All(written.Names, n => Assert.Equal("BF16", written.Info(n).Dtype));
        Assert.Equal("bfloat16", JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!["torch_dtype"]!.GetValue<string>());

        using var reference = LoraParityTests.ReferenceTensors(model);
        using var lm = ForCausalLM.FromPretrained(outDir, ScalarType.BFloat16);
        using var noGrad = torch.no_grad();
        var logits = lm.forward(reference.Load("input_ids"), reference.Load("attention_mask")).to(ScalarType.Float32);
        double diff = TensorAssert.MaxAbsDiff(reference.Load("merged_logits"), logits);
        output.WriteLine($"{model}: bf16 merged logits max |diff| {diff:G3}");
        Assert.True(diff < 0.1, $"bf16 merged logits differ by {diff}");
    }

    [Fact]
    public void Write_ProgressCallback_RisesMonotonicallyToOne()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        var fractions = new List<double>();

        var model = ReferenceModels.Folders[0];
        MergedModelWriter.Write(model, Path.Combine(model, "adapter"), temp.Path, 60_000L, fractions.Add);

        Assert.True(fractions.Count > 2);
        Assert.True(fractions.Zip(fractions.Skip(1)).All(p => p.Second > p.First), "progress must rise with every tensor");
        Assert.Equal(1.0, fractions[^1], 9);
    }

    [Fact]
    public void Transformers4Config_MovesRopeParameters()
    {
        var json = """{"model_type":"llama","rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192},"dtype":"bfloat16"}""";
        var root = JsonNode.Parse(MergedModelWriter.Transformers4Config(json))!.AsObject();
        Assert.False(root.ContainsKey("rope_parameters"));
        Assert.Equal(500000.0, root["rope_theta"]!.GetValue<double>());
        Assert.Equal("llama3", root["rope_scaling"]!["rope_type"]!.GetValue<string>());
        Assert.Equal(8.0, root["rope_scaling"]!["factor"]!.GetValue<double>());
        Assert.Equal("bfloat16", root["torch_dtype"]!.GetValue<string>());
        var parsed = ModelConfig.Parse(root.ToJsonString().Replace("\"model_type\":\"llama\"", "\"model_type\":\"llama\",\"hidden_size\":8,\"num_attention_heads\":2,\"num_hidden_layers\":1,\"intermediate_size\":16,\"vocab_size\":10"));
        Assert.Equal(500000.0, parsed.RopeTheta);
        Assert.Equal("llama3", parsed.RopeScaling!.RopeType);
    }
}
