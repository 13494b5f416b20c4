using System.Text.Json;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

/// <summary>The TorchSharp model against transformers' own outputs, for every reference model folder.</summary>
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class ModelParityTests
{
    const double Tolerance = 1e-4;

    static JsonElement Reference(string model) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceModels.PathOf(model), "reference.json"))).RootElement;

    static SafetensorsFile ReferenceTensors(string model) =>
        SafetensorsFile.Open(Path.Combine(ReferenceModels.PathOf(model), "reference.safetensors"));

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ParameterNames_AreTheCheckpointNames(string model)
    {
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        using var checkpoint = SafetensorsCheckpoint.Open(ReferenceModels.PathOf(model));
        var names = lm.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal).ToList();
        var expected = checkpoint.Names.Where(n => !(lm.Config.TieWordEmbeddings && n == "lm_head.weight")).ToList();
        Assert.Equal(expected, names);
        Assert.Equal(lm.Config.TieWordEmbeddings, lm.lm_head is null);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Logits_MatchTransformers(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        using var reference = ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var expected = reference.Load("logits");

        using var noGrad = torch.no_grad();
        var logits = lm.forward(ids, mask);

        Assert.Equal(expected.shape, logits.shape);
        // Every position, padded ones included: with right padding transformers' padded queries still see the
        // real keys before them, exactly as our mask does.
        TensorAssert.Close(expected, logits, Tolerance, $"{model} logits");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Loss_MatchesTransformers(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        using var reference = ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var labels = reference.Load("labels");
        double expected = Reference(model).GetProperty("loss").GetDouble();

        using var noGrad = torch.no_grad();
        var fromHidden = lm.Loss(ids, labels, mask, chunkTokens: 5).item<float>();                 // several chunks
        var fromLogits = CausalLMLoss.FromLogits(lm.forward(ids, mask), labels, chunkTokens: 7).item<float>();
        var fromReferenceLogits = CausalLMLoss.FromLogits(reference.Load("logits"), labels).item<float>();

        Assert.True(Math.Abs(fromReferenceLogits - expected) < Tolerance, $"loss of the reference logits {fromReferenceLogits} vs {expected}");
        Assert.True(Math.Abs(fromHidden - expected) < Tolerance, $"{model}: loss from hidden {fromHidden} vs {expected}");
        Assert.True(Math.Abs(fromLogits - expected) < Tolerance, $"{model}: loss from logits {fromLogits} vs {expected}");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Bfloat16Forward_IsCloseToFloat32(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var f32 = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        using var bf16 = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model), ScalarType.BFloat16);
        Assert.All(bf16.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var reference = ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var labels = reference.Load("labels");

        using var noGrad = torch.no_grad();
        var expected = f32.forward(ids, mask);
        var actual = bf16.forward(ids, mask);
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        double scale = expected.abs().max().item<float>();
        double diff = TensorAssert.MaxAbsDiff(expected, actual);
        Assert.True(diff < 0.05 * scale + 0.05, $"{model}: bf16 logits differ by {diff} (max |logit| {scale})");

        float lossF32 = f32.Loss(ids, labels, mask).item<float>();
        float lossBf16 = bf16.Loss(ids, labels, mask).item<float>();
        Assert.True(Math.Abs(lossF32 - lossBf16) < 0.02 * lossF32, $"{model}: bf16 loss {lossBf16} vs {lossF32}");
    }
}
