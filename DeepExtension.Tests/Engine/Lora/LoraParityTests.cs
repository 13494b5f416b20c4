using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Lora;

/// <summary>LoRA (PEFT semantics) against PEFT 0.21's own outputs, for every reference model folder.</summary>
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class LoraParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    internal static JsonElement Reference(string model) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceModels.PathOf(model), "reference.json"))).RootElement;

    internal static SafetensorsFile ReferenceTensors(string model) =>
        SafetensorsFile.Open(Path.Combine(ReferenceModels.PathOf(model), "reference.safetensors"));

    internal static string AdapterOf(string model) => Path.Combine(ReferenceModels.PathOf(model), "adapter");

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Logits_MatchPeft(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, AdapterOf(model));
        using var reference = ReferenceTensors(model);
        using var noGrad = torch.no_grad();
        var logits = lm.forward(reference.Load("input_ids"), reference.Load("attention_mask"));
        double diff = TensorAssert.MaxAbsDiff(reference.Load("lora_logits"), logits);
        output.WriteLine($"{model}: lora logits max |diff| {diff:G3}");
        Assert.True(diff <= Tolerance, $"{model}: lora logits differ by {diff}");
        Assert.True(TensorAssert.MaxAbsDiff(reference.Load("logits"), logits) > 1e-3, "the adapter changes the logits");

        using (lora.DisableAdapters())
            TensorAssert.Close(reference.Load("logits"), lm.forward(reference.Load("input_ids"), reference.Load("attention_mask")), Tolerance, "adapter disabled = base");
        TensorAssert.Close(reference.Load("lora_logits"), lm.forward(reference.Load("input_ids"), reference.Load("attention_mask")), Tolerance, "re-enabled");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void LossAndGradients_MatchPeft(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, AdapterOf(model));
        lm.train();
        using var reference = ReferenceTensors(model);
        double expected = Reference(model).GetProperty("lora_loss").GetDouble();

        var loss = lm.Loss(reference.Load("input_ids"), reference.Load("labels"), reference.Load("attention_mask"));
        double value = loss.item<float>();
        output.WriteLine($"{model}: lora loss {value} vs {expected} (|diff| {Math.Abs(value - expected):G3})");
        Assert.True(Math.Abs(value - expected) < Tolerance, $"{model}: lora loss {value} vs {expected}");
        loss.backward();

        Assert.Equal(lm.parameters().Count(p => p.requires_grad), lora.TrainableParameters.Count);
        Assert.All(lm.parameters().Where(p => !p.requires_grad), p => Assert.Null(p.grad));
        var refNames = reference.Names.Where(n => n.StartsWith("grad.", StringComparison.Ordinal)).Select(n => n[5..]).Order(StringComparer.Ordinal);
        Assert.Equal(refNames, lora.TrainableParameters.Select(p => p.Name).Order(StringComparer.Ordinal));
        double worst = 0;
        foreach (var (name, p) in lora.TrainableParameters)
        {
            var g = reference.Load("grad." + name);
            Assert.NotNull(p.grad);
            Assert.Equal(ScalarType.Float32, p.grad!.dtype);
            double rel = TensorAssert.MaxAbsDiff(g, p.grad!) / Math.Max(1e-12, g.norm().item<float>());
            worst = Math.Max(worst, rel);
            Assert.True(rel <= 1e-3, $"{model} {name}: gradient differs by {rel:G3} of its norm");
        }
        output.WriteLine($"{model}: worst gradient deviation {worst:G3} of the tensor's norm");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Merge_MatchesMergeAndUnload(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, AdapterOf(model));
        using var reference = ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        using var noGrad = torch.no_grad();

        lora.Merge();
        lora.Merge(); // idempotent
        Assert.All(lora.Layers, l => Assert.True(l.Layer.Merged));
        double diff = TensorAssert.MaxAbsDiff(reference.Load("merged_logits"), lm.forward(ids, mask));
        output.WriteLine($"{model}: merged logits max |diff| {diff:G3}");
        Assert.True(diff <= Tolerance, $"{model}: merged logits differ by {diff}");
        var state = lora.BaseStateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var name in reference.Names.Where(n => n.StartsWith("merged.", StringComparison.Ordinal)))
        {
            double d = TensorAssert.MaxAbsDiff(reference.Load(name), state[name["merged.".Length..]]);
            output.WriteLine($"{model}: {name} max |diff| {d:G3}");
            Assert.True(d <= 1e-6, $"{name} differs by {d}");
        }

        lora.Unmerge();
        lora.Unmerge();
        TensorAssert.Close(reference.Load("lora_logits"), lm.forward(ids, mask), Tolerance, "unmerged");
        using (lora.DisableAdapters())
            TensorAssert.Close(reference.Load("logits"), lm.forward(ids, mask), Tolerance, "unmerged base");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void SavedAdapter_HasPeftLayoutAndReloadsIdentically(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        using var reference = ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var peftConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(AdapterOf(model), PeftAdapter.ConfigFile)))!.AsObject();
        Tensor expected;
        using (var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model)))
        {
            var lora = PeftAdapter.Load(lm, AdapterOf(model));
            // The base model's name as PEFT recorded it: the folder may have been renamed since (another reference set).
            PeftAdapter.Save(lora, temp.Path, peftConfig["base_model_name_or_path"]!.GetValue<string>());
            using var noGrad = torch.no_grad();
            expected = lm.forward(ids, mask);
        }

        // File layout: the same tensor names, dtypes and shapes as PEFT's file; the same config keys and values.
        using (var mine = SafetensorsFile.Open(Path.Combine(temp.Path, PeftAdapter.WeightsFile)))
        using (var peft = SafetensorsFile.Open(Path.Combine(AdapterOf(model), PeftAdapter.WeightsFile)))
        {
            Assert.Equal(peft.Names.Order(StringComparer.Ordinal), mine.Names.Order(StringComparer.Ordinal));
            foreach (var n in peft.Names)
            {
                Assert.Equal(peft.Info(n).Dtype, mine.Info(n).Dtype);
                Assert.Equal(peft.Info(n).Shape, mine.Info(n).Shape);
                TensorAssert.Identical(peft.Load(n), mine.Load(n), n);
            }
        }
        var myConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(temp.Path, PeftAdapter.ConfigFile)))!.AsObject();
        Assert.Equal(peftConfig.Select(kv => kv.Key).Order(StringComparer.Ordinal), myConfig.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        foreach (var (key, value) in peftConfig)
        {
            if (key == "target_modules")
                Assert.Equal(value!.AsArray().Select(v => v!.GetValue<string>()).Order(), myConfig[key]!.AsArray().Select(v => v!.GetValue<string>()).Order());
            else
                Assert.True(JsonNode.DeepEquals(value, myConfig[key]), $"{key}: {myConfig[key]?.ToJsonString()} vs PEFT's {value?.ToJsonString()}");
        }
        Assert.Equal(JsonValueKind.Number, myConfig["lora_alpha"]!.GetValueKind());
        Assert.DoesNotContain(".", myConfig["lora_alpha"]!.ToJsonString());

        using (var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model)))
        {
            PeftAdapter.Load(lm, temp.Path);
            using var noGrad = torch.no_grad();
            TensorAssert.Identical(expected, lm.forward(ids, mask), "reloaded adapter");
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void AdaptersThatCannotBeHonoured_AreRefused(string model)
    {
        using var temp = new TempDirectory();
        string Variant(string name, Action<JsonObject> edit)
        {
            string dir = Path.Combine(temp.Path, name);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(AdapterOf(model), PeftAdapter.WeightsFile), Path.Combine(dir, PeftAdapter.WeightsFile));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(AdapterOf(model), PeftAdapter.ConfigFile)))!.AsObject();
            edit(config);
            File.WriteAllText(Path.Combine(dir, PeftAdapter.ConfigFile), config.ToJsonString());
            return dir;
        }

        void Refused<T>(string dir, string fragment) where T : Exception
        {
            using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
            var e = Assert.ThrowsAny<T>(() => PeftAdapter.Load(lm, dir));
            Assert.Contains(fragment, e.Message);
        }

        Refused<NotSupportedException>(Variant("ia3", c => c["peft_type"] = "IA3"), "peft_type");
        Refused<NotSupportedException>(Variant("dora", c => c["use_dora"] = true), "use_dora");
        Refused<NotSupportedException>(Variant("bias", c => c["bias"] = "all"), "bias");
        Refused<NotSupportedException>(Variant("pattern", c => c["rank_pattern"] = new JsonObject { ["q_proj"] = 4 }), "rank_pattern");
        Refused<NotSupportedException>(Variant("seq2seq", c => c["task_type"] = "SEQ_2_SEQ_LM"), "task_type");
        Refused<NotSupportedException>(Variant("regex", c => c["target_modules"] = ".*proj"), "regular expression");
        Refused<NotSupportedException>(Variant("unknown", c => c["target_modules"] = new JsonArray("q_proj", "lm_head")), "lm_head");
        Refused<NotSupportedException>(Variant("fewer", c => c["target_modules"] = new JsonArray("q_proj")), "does not explain");
        Refused<NotSupportedException>(Variant("alpha", c => c["lora_alpha"] = 16.5), "lora_alpha");
        Refused<NotSupportedException>(Variant("fraction", c => c["r"] = 7.5), "r 7.5");
        Refused<InvalidDataException>(Variant("rank", c => c["r"] = 4), "shape");
    }
}

sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("deepx-lora-").FullName;
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
