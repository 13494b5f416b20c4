using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class CausalLMLossTests
{
    [Fact]
    public void FromLogits_ShiftsAndIgnoresLikeTransformers()
    {
        using var scope = torch.NewDisposeScope();
        var g = new torch.Generator(3);
        var logits = torch.randn([2, 5, 11], generator: g);
        var labels = torch.tensor(new long[,] { { 1, 2, 3, 4, 5 }, { 6, 7, -100, -100, -100 } });
        // by hand: position t predicts labels[t + 1]; pairs (row, t, label) with label != -100
        var pairs = new (int Row, int T, long Label)[] { (0, 0, 2), (0, 1, 3), (0, 2, 4), (0, 3, 5), (1, 0, 7) };
        double expected = pairs.Average(p =>
        {
            var row = logits[p.Row, p.T].to(ScalarType.Float64);
            return row.logsumexp(0).item<double>() - row[p.Label].item<double>();
        });
        Assert.Equal(expected, CausalLMLoss.FromLogits(logits, labels).item<float>(), 5);
        Assert.Equal(expected, CausalLMLoss.FromLogits(logits, labels, chunkTokens: 3).item<float>(), 5);
        Assert.Equal(expected, CausalLMLoss.FromHidden(logits, torch.eye(11), labels, chunkTokens: 2).item<float>(), 5);
    }

    [Fact]
    public void FromHidden_GradientsEqualAutogradThroughLogits()
    {
        using var scope = torch.NewDisposeScope();
        var g = new torch.Generator(5);
        var hidden = torch.randn([3, 7, 16], generator: g).requires_grad_();
        var weight = (torch.randn([50, 16], generator: g) * 0.3).requires_grad_();
        var labels = torch.randint(0, 50, [3, 7], generator: g);
        labels[1, 4] = torch.tensor(-100L);
        labels[2, 0] = torch.tensor(-100L);

        var reference = CausalLMLoss.FromLogits(nn.functional.linear(hidden, weight), labels);
        reference.backward();
        var refHiddenGrad = hidden.grad!.clone();
        var refWeightGrad = weight.grad!.clone();
        hidden.grad!.zero_();
        weight.grad!.zero_();

        var fused = CausalLMLoss.FromHidden(hidden, weight, labels, chunkTokens: 4);
        Assert.Equal(reference.item<float>(), fused.item<float>(), 5);
        (fused * 2).backward(); // an upstream factor scales the gradients
        TensorAssert.Close(refHiddenGrad * 2, hidden.grad!, 1e-6, "d loss / d hidden");
        TensorAssert.Close(refWeightGrad * 2, weight.grad!, 1e-6, "d loss / d weight");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ModelLoss_BackwardEqualsBackwardThroughFullLogits(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        using var reference = SafetensorsFile.Open(Path.Combine(ReferenceModels.PathOf(model), "reference.safetensors"));
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var labels = reference.Load("labels");

        var probes = new[] { "model.layers.0.self_attn.q_proj.weight", "model.norm.weight", "model.embed_tokens.weight" };
        var parameters = lm.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        CausalLMLoss.FromLogits(lm.forward(ids, mask), labels).backward();
        var expected = probes.ToDictionary(n => n, n => parameters[n].grad!.clone());
        lm.zero_grad();

        lm.Loss(ids, labels, mask, chunkTokens: 6).backward();
        foreach (var name in probes)
        {
            double scale = expected[name].abs().max().item<float>();
            TensorAssert.Close(expected[name], parameters[name].grad!, 1e-5 * Math.Max(1, scale), name);
        }
    }
}
