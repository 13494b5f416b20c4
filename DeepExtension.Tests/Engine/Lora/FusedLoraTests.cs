using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Engine.Training;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Lora;

/// <summary>
/// The fused LoRA projections against the unfused path they replace (each adapter its own module, PEFT's path), fp32 on
/// the CPU, for every reference model folder.
/// </summary>
[Collection(TorchCollection.Name)]
public class FusedLoraTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void FusedProjections_GiveTheUnfusedLossAndGradients(string model)
    {
        using var scope = torch.NewDisposeScope();
        var (lm, lora) = ActivationCheckpointingTests.ModelWithAdapter(model, dropout: 0);
        using var _ = lm;
        var (ids, labels) = ActivationCheckpointingTests.Batch(lm, rows: 3, length: 20, seed: 9);

        (double Loss, Dictionary<string, Tensor> Grads) Step(bool fuse)
        {
            lora.Fuse = fuse;
            foreach (var p in lora.Parameters()) p.grad = null;
            using var s = torch.NewDisposeScope();
            var loss = lm.Loss(ids, labels);
            loss.backward();
            return (loss.item<float>(), lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.detach().clone().MoveToOuterDisposeScope()));
        }

        var (unfusedLoss, unfused) = Step(fuse: false);
        var (fusedLoss, fused) = Step(fuse: true);
        double worst = unfused.Max(e => TensorAssert.MaxAbsDiff(e.Value, fused[e.Key]) / Math.Max(1e-30, e.Value.abs().max().item<float>()));
        output.WriteLine($"{model}: loss fused {fusedLoss} vs unfused {unfusedLoss}; worst relative gradient difference {worst:G3}");
        Assert.True(Math.Abs(fusedLoss - unfusedLoss) <= 1e-6 * Math.Abs(unfusedLoss), $"{model}: fused loss {fusedLoss} vs {unfusedLoss}");
        Assert.All(unfused.Values, g => Assert.True(g.abs().max().item<float>() > 0));
        Assert.True(worst <= 1e-5, $"{model}: a fused LoRA gradient differs by {worst:G3} of its largest value");
    }

    [Fact]
    public void FusedProjections_AreUsedOnlyWhereTheyAreExact()
    {
        using var scope = torch.NewDisposeScope();
        var model = Path.GetFileName(ReferenceModels.Folders[0]);
        var (lm, lora) = ActivationCheckpointingTests.ModelWithAdapter(model, dropout: 0.1);
        using var _ = lm;
        var attention = lm.model.layers[0].self_attn;
        using var x = torch.randn(1, 4, lm.Config.HiddenSize);
        // Dropout draws a mask per projection in training: not fused. In evaluation, without a graph, or disabled: not fused.
        Assert.Null(FusedLora.TryForward(x, attention.q_proj, attention.k_proj, attention.v_proj));
        lm.eval();
        Assert.NotNull(FusedLora.TryForward(x, attention.q_proj, attention.k_proj, attention.v_proj));
        using (torch.no_grad()) Assert.Null(FusedLora.TryForward(x, attention.q_proj));
        using (lora.DisableAdapters()) Assert.Null(FusedLora.TryForward(x, attention.q_proj));
        lora.Fuse = false;
        Assert.Null(FusedLora.TryForward(x, attention.q_proj));
    }
}
