using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Training;

/// <summary>AdamWOptimizer steps and DPO values against PyTorch / PEFT / TRL-formula references, for every reference folder.</summary>
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class TrainingParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    static AdamWOptions OptionsOf(string model)
    {
        var a = LoraParityTests.Reference(model).GetProperty("adamw");
        var betas = a.GetProperty("betas");
        return new AdamWOptions(a.GetProperty("lr").GetDouble(), betas[0].GetDouble(), betas[1].GetDouble(),
                                a.GetProperty("eps").GetDouble(), a.GetProperty("weight_decay").GetDouble());
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ThreeAdamWSteps_MatchTorch(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, LoraParityTests.AdapterOf(model));
        lm.train();
        using var reference = LoraParityTests.ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var labels = reference.Load("labels");
        var expectedLosses = LoraParityTests.Reference(model).GetProperty("adamw").GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        using var optimizer = new AdamWOptimizer(lora.TrainableParameters, OptionsOf(model));
        var losses = new List<Tensor>();
        for (int step = 0; step < expectedLosses.Length; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            var loss = lm.Loss(ids, labels, mask);
            loss.backward();
            optimizer.Step();
            optimizer.ZeroGrad();
            losses.Add(loss.detach().MoveToOuterDisposeScope());
        }
        for (int i = 0; i < expectedLosses.Length; i++)
        {
            double v = losses[i].item<float>();
            output.WriteLine($"{model}: loss {i} {v} vs {expectedLosses[i]} (|diff| {Math.Abs(v - expectedLosses[i]):G3})");
            Assert.True(Math.Abs(v - expectedLosses[i]) < Tolerance, $"{model}: step {i} loss {v} vs {expectedLosses[i]}");
        }
        long total = 0, close = 0;
        double worst = 0;
        foreach (var (name, p) in lora.TrainableParameters)
        {
            var expected = reference.Load("after3." + name);
            var diff = (expected - p.detach()).abs();
            total += diff.numel();
            close += diff.le(Tolerance).sum().item<long>();
            worst = Math.Max(worst, diff.max().item<float>());
        }
        double fraction = (double)close / total;
        output.WriteLine($"{model}: after 3 steps {close}/{total} elements within 1e-4 ({fraction:P4}), worst {worst:G3}");
        Assert.True(fraction >= 0.999, $"{model}: only {fraction:P3} of the parameters within {Tolerance}");
        Assert.Equal(3, optimizer.StepCount);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void DpoValues_MatchReference(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, LoraParityTests.AdapterOf(model));
        lm.train();
        using var reference = LoraParityTests.ReferenceTensors(model);
        var dpo = LoraParityTests.Reference(model).GetProperty("dpo");
        double beta = dpo.GetProperty("beta").GetDouble();
        long promptLen = dpo.GetProperty("prompt_len").GetInt64();
        var chosen = reference.Load("dpo_chosen");
        var rejected = reference.Load("dpo_rejected");

        var result = Dpo.Compute(lora, chosen, Dpo.CompletionLabels(chosen, promptLen), null,
                                 rejected, Dpo.CompletionLabels(rejected, promptLen), null, beta);
        var checks = new (string Key, Tensor Value)[]
        {
            ("policy_chosen_logp", result.PolicyChosenLogps), ("policy_rejected_logp", result.PolicyRejectedLogps),
            ("ref_chosen_logp", result.ReferenceChosenLogps), ("ref_rejected_logp", result.ReferenceRejectedLogps),
            ("loss", result.Loss), ("reward_chosen", result.ChosenRewards), ("reward_rejected", result.RejectedRewards),
        };
        foreach (var (key, value) in checks)
        {
            double expected = dpo.GetProperty(key).GetDouble();
            double actual = value.sum().item<float>();
            output.WriteLine($"{model}: dpo {key} {actual} vs {expected} (|diff| {Math.Abs(actual - expected):G3})");
            Assert.True(Math.Abs(actual - expected) < Tolerance, $"{model}: {key} {actual} vs {expected}");
        }
        Assert.False(result.ReferenceChosenLogps.requires_grad);
        result.Loss.backward();
        Assert.All(lora.TrainableParameters, p => Assert.NotNull(p.Parameter.grad));
        Assert.All(lora.Layers, l => Assert.True(l.Layer.Enabled));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Checkpoint_ResumesExactly(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempDirectory();
        using var reference = LoraParityTests.ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var labels = reference.Load("labels");
        var options = OptionsOf(model);

        void Step(ForCausalLM lm, AdamWOptimizer opt)
        {
            using var s = torch.NewDisposeScope();
            lm.Loss(ids, labels, mask).backward();
            opt.Step();
            opt.ZeroGrad();
        }

        Dictionary<string, Tensor> straight;
        using (var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model)))
        {
            var lora = PeftAdapter.Load(lm, LoraParityTests.AdapterOf(model));
            using var opt = new AdamWOptimizer(lora.TrainableParameters, options);
            Step(lm, opt);
            TrainingCheckpoint.Save(temp.Path, lora, opt, new TrainerState(1, 0, 2, opt.LearningRate), model);
            Step(lm, opt);
            straight = lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
        }
        using (var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model)))
        {
            var (lora, opt, state) = TrainingCheckpoint.Load(temp.Path, lm, options);
            using var _ = opt;
            Assert.Equal(1, state.GlobalStep);
            Assert.Equal(1, opt.StepCount);
            Step(lm, opt);
            foreach (var (name, p) in lora.TrainableParameters) TensorAssert.Identical(straight[name], p.detach(), name);
        }
    }
}
