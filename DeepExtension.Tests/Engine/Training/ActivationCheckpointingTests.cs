using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Training;

/// <summary>
/// Gradient checkpointing recomputes each layer in backward: the LoRA gradients must be those of the path that keeps
/// every activation (fp32 on the CPU, same seed, dropout on so that the replayed masks are checked too), for every
/// reference model folder.
/// </summary>
[Collection(TorchCollection.Name)]
public class ActivationCheckpointingTests(ITestOutputHelper output)
{
    const double RelativeTolerance = 1e-6;

    /// <summary>The reference model with a fresh adapter whose B is random too (B = 0 would leave A's gradients zero).</summary>
    internal static (ForCausalLM Model, LoraModel Lora) ModelWithAdapter(string model, double dropout)
    {
        var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = LoraModel.Inject(lm, new LoraConfig(8, 16, dropout, LoraConfig.AllProjections), new Generator(7));
        using (torch.no_grad())
        using (var init = new Generator(11))
        {
            foreach (var (_, layer) in lora.Layers)
            {
                using var b = torch.randn(layer.lora_B.weight!.shape, generator: init) * 0.05;
                layer.lora_B.weight!.copy_(b);
            }
        }
        lm.train();
        return (lm, lora);
    }

    internal static (Tensor Ids, Tensor Labels) Batch(ForCausalLM lm, int rows, int length, int seed)
    {
        using var random = new Generator((ulong)seed);
        var ids = torch.randint(0, lm.Config.VocabSize, [rows, length], dtype: ScalarType.Int64, generator: random);
        var labels = ids.clone();
        labels.narrow(1, 0, length / 3).fill_(-100); // prompts are not scored
        return (ids, labels);
    }

    /// <summary>Loss and a copy of every LoRA gradient after one backward pass with <paramref name="mode"/>.</summary>
    static (double Loss, Dictionary<string, Tensor> Grads) Step(ForCausalLM lm, LoraModel lora, ActivationCheckpointing mode, Tensor ids, Tensor labels)
    {
        foreach (var p in lora.Parameters()) p.grad = null;
        lm.model.Checkpointing = mode;
        lora.SeedDropout(1234);
        // Two micro-batches, as gradient accumulation runs them: the second forward's masks follow the first's.
        double loss = 0;
        for (var half = 0; half < 2; half++)
        {
            using var scope = torch.NewDisposeScope();
            var rows = ids.shape[0] / 2;
            var l = lm.Loss(ids.narrow(0, half * rows, rows), labels.narrow(0, half * rows, rows));
            l.backward();
            loss += l.item<float>();
        }
        return (loss, lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.detach().clone()));
    }

    static double WorstRelative(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        double worst = 0;
        foreach (var (name, g) in expected)
        {
            var scale = Math.Max(1e-30, g.abs().max().item<float>());
            worst = Math.Max(worst, TensorAssert.MaxAbsDiff(g, actual[name]) / scale);
        }
        return worst;
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void LayerCheckpointing_GivesTheGradientsOfKeepingEverything(string model)
    {
        using var scope = torch.NewDisposeScope();
        var (lm, lora) = ModelWithAdapter(model, dropout: 0.1);
        using var _ = lm;
        var (ids, labels) = Batch(lm, rows: 4, length: 24, seed: 3);

        var (lossOff, off) = Step(lm, lora, ActivationCheckpointing.Off, ids, labels);
        var (lossLayer, layer) = Step(lm, lora, ActivationCheckpointing.Layer, ids, labels);
        var (lossOffload, offload) = Step(lm, lora, ActivationCheckpointing.Offload, ids, labels);

        Assert.Equal(lora.TrainableParameters.Count, layer.Count);
        Assert.All(off.Values, g => Assert.True(g.abs().max().item<float>() > 0, "every LoRA weight gets a gradient"));
        var worstLayer = WorstRelative(off, layer);
        var worstOffload = WorstRelative(off, offload);
        output.WriteLine($"{model}: loss off {lossOff}, layer {lossLayer}, offload {lossOffload}; worst relative gradient difference layer {worstLayer:G3}, offload {worstOffload:G3}");
        Assert.Equal(lossOff, lossLayer, 6);
        Assert.Equal(lossOff, lossOffload, 6);
        Assert.True(worstLayer <= RelativeTolerance, $"{model}: layer checkpointing changes a LoRA gradient by {worstLayer:G3} of its largest value");
        Assert.True(worstOffload <= RelativeTolerance, $"{model}: offload changes a LoRA gradient by {worstOffload:G3} of its largest value");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ReplayedDropout_IsWhatMakesTheGradientsEqual(string model)
    {
        // The same comparison with the masks not replayed (a fresh seed for the checkpointed pass) must fail: the
        // equality above is not an accident of dropout doing nothing.
        using var scope = torch.NewDisposeScope();
        var (lm, lora) = ModelWithAdapter(model, dropout: 0.1);
        using var _ = lm;
        var (ids, labels) = Batch(lm, rows: 2, length: 16, seed: 5);
        var (_, off) = Step(lm, lora, ActivationCheckpointing.Off, ids, labels);

        foreach (var p in lora.Parameters()) p.grad = null;
        lm.model.Checkpointing = ActivationCheckpointing.Layer;
        lora.SeedDropout(99);
        using (torch.NewDisposeScope())
        {
            lm.Loss(ids.narrow(0, 0, 1), labels.narrow(0, 0, 1)).backward();
            lm.Loss(ids.narrow(0, 1, 1), labels.narrow(0, 1, 1)).backward();
        }
        var other = lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.detach().clone());
        Assert.True(WorstRelative(off, other) > 1e-3, "other dropout masks give other gradients");
    }

    [Fact]
    public void WithoutGradients_TheLayersRunAsUsual()
    {
        using var scope = torch.NewDisposeScope();
        var model = Path.GetFileName(ReferenceModels.Folders[0]);
        var (lm, _) = ModelWithAdapter(model, dropout: 0);
        using var __ = lm;
        var (ids, _) = Batch(lm, rows: 1, length: 12, seed: 1);
        lm.eval();
        using var noGrad = torch.no_grad();
        var plain = lm.forward(ids);
        lm.model.Checkpointing = ActivationCheckpointing.Layer;
        TensorAssert.Identical(plain, lm.forward(ids), "no_grad forward with checkpointing on");
    }
}
