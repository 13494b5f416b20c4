using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Training;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class TrainingPrimitivesTests
{
    [Fact]
    public void Schedules_MatchTransformersHandComputed()
    {
        // get_linear_schedule_with_warmup(warmup=2, total=10)
        double[] linear = [0, 0.5, 1, 7 / 8.0, 6 / 8.0, 5 / 8.0, 4 / 8.0, 3 / 8.0, 2 / 8.0, 1 / 8.0, 0, 0];
        for (int s = 0; s < linear.Length; s++) Assert.Equal(linear[s], LearningRateSchedule.Linear(s, 2, 10), 12);
        // get_cosine_schedule_with_warmup(warmup=2, total=10): 0.5·(1 + cos(π·(s−2)/8))
        double[] cosine = [0, 0.5, 1, 0.9619397662556434, 0.8535533905932737, 0.6913417161825449, 0.5, 0.3086582838174551, 0.1464466094067262, 0.0380602337443566, 0];
        for (int s = 0; s < cosine.Length; s++) Assert.Equal(cosine[s], LearningRateSchedule.Cosine(s, 2, 10), 12);
        double[] constant = [0, 1 / 3.0, 2 / 3.0, 1, 1, 1];
        for (int s = 0; s < constant.Length; s++) Assert.Equal(constant[s], LearningRateSchedule.ConstantWithWarmup(s, 3), 12);
        Assert.Equal(1.0, LearningRateSchedule.Linear(0, 0, 10));
        Assert.Equal(0.9, LearningRateSchedule.ByName("linear", 0, 10)(1), 12);
        Assert.Equal(3, LearningRateSchedule.WarmupSteps(25, 0, 0.1));
        Assert.Throws<NotSupportedException>(() => LearningRateSchedule.ByName("polynomial", 0, 10));
    }

    [Fact]
    public void ClipGradNorm_IsTorchs()
    {
        using var scope = torch.NewDisposeScope();
        var a = new Parameter(torch.zeros(2));
        var b = new Parameter(torch.zeros(2, 1));
        var c = new Parameter(torch.zeros(3)); // no gradient: skipped
        a.grad = torch.tensor(new[] { 3f, 0f });
        b.grad = torch.tensor(new[] { 0f, 4f }).reshape(2, 1);
        var norm = GradientClipping.ClipGradNorm([a, b, c], 1.0);
        Assert.Equal(5f, norm.item<float>(), 5);
        float k = (float)(1.0 / (5 + 1e-6));
        Assert.Equal(new[] { 3 * k, 0f }, a.grad!.data<float>().ToArray());
        Assert.Equal(new[] { 0f, 4 * k }, b.grad!.data<float>().ToArray());
        var again = GradientClipping.ClipGradNorm([a, b], 10.0); // below the limit: unchanged
        Assert.Equal(1f, again.item<float>(), 4);
        Assert.Equal(new[] { 3 * k, 0f }, a.grad!.data<float>().ToArray());
    }

    [Fact]
    public void AdamWOptimizer_FlatBuffers_UpdateEachParameterAsOnItsOwn()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        // Two float32 parameters (one flat group), one without a gradient in the first step, and a float64 one (a group of its own).
        var a = new Parameter(torch.randn(3, 4));
        var b = new Parameter(torch.randn(5));
        var c = new Parameter(torch.randn(2, 2, dtype: ScalarType.Float64));
        var initial = new[] { a, b, c }.Select(p => p.detach().clone()).ToArray();
        var grads = new[] { torch.randn(3, 4), torch.randn(5), torch.randn(2, 2, dtype: ScalarType.Float64) };
        var options = new AdamWOptions(0.1, 0.9, 0.99, 1e-8, 0.01);
        using var optimizer = new AdamWOptimizer([("a", a), ("b", b), ("c", c)], options);
        for (var i = 0; i < 3; i++) Assert.True(initial[i].allclose(new[] { a, b, c }[i], rtol: 0, atol: 0), "moving a parameter into the flat buffer keeps its values");

        // Step 1: b has no gradient, so its group falls back to one update per parameter and b stays as it was.
        a.grad = grads[0].clone();
        c.grad = grads[2].clone();
        var norm1 = optimizer.ClipGradNorm(1.0);
        optimizer.Step();
        optimizer.ZeroGrad();
        // Step 2: every gradient there, clipped and updated on the flat buffers.
        a.grad = grads[0].clone();
        b.grad = grads[1].clone();
        c.grad = grads[2].clone();
        var norm2 = optimizer.ClipGradNorm(1.0);
        Assert.Equal(6, optimizer.StateTensors().Count); // exp_avg and exp_avg_sq of a, b and c
        optimizer.Step();
        optimizer.ZeroGrad();
        Assert.All(new[] { a, b, c }, p => Assert.Null(p.grad));

        // The same two steps, one tensor at a time, with torch's formulas.
        var expected = initial.Select(t => t.clone()).ToArray();
        var m = initial.Select(t => torch.zeros(t.shape, ScalarType.Float32)).ToArray();
        var v = initial.Select(t => torch.zeros(t.shape, ScalarType.Float32)).ToArray();
        bool[][] present = [[true, false, true], [true, true, true]];
        var norms = new[] { norm1, norm2 };
        for (var step = 0; step < 2; step++)
        {
            var g = Enumerable.Range(0, 3).Where(i => present[step][i]).Select(i => grads[i].clone()).ToList();
            var total = GradientClipping.ClipGradients(g, 1.0);
            Assert.Equal(total.item<float>(), norms[step].item<float>(), 4);
            var k = 0;
            for (var i = 0; i < 3; i++)
                if (present[step][i]) AdamWOptimizer.Update(expected[i], g[k++], m[i], v[i], step + 1, 0.1, 0.9, 0.99, 1e-8, 0.01);
        }
        Assert.True(b.allclose(expected[1], rtol: 1e-5, atol: 1e-6));
        Assert.True(a.allclose(expected[0], rtol: 1e-5, atol: 1e-6));
        Assert.True(c.allclose(expected[2], rtol: 1e-5, atol: 1e-6));
        Assert.False(a.allclose(initial[0]));
        Assert.True(a.requires_grad && b.requires_grad && c.requires_grad);
    }

    [Fact]
    public void AdamWUpdate_MatchesTheFormula()
    {
        using var scope = torch.NewDisposeScope();
        var p = torch.tensor(new[] { 1.0f, -2.0f });
        var g = torch.tensor(new[] { 0.5f, 0.25f });
        var m = torch.zeros(2);
        var v = torch.zeros(2);
        double lr = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1;
        AdamWOptimizer.Update(p, g, m, v, 1, lr, b1, b2, eps, wd);
        // step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) ≈ lr·sign(g); decay first
        Assert.Equal(1.0 * (1 - lr * wd) - lr, p[0].item<float>(), 5);
        Assert.Equal(-2.0 * (1 - lr * wd) - lr, p[1].item<float>(), 5);
        AdamWOptimizer.Update(p, g, m, v, 2, lr, b1, b2, eps, wd);
        double m2 = (0.1 * 0.9 + 0.1) * 0.5, v2 = (0.01 * 0.99 + 0.01) * 0.25;
        double expected = (1.0 * (1 - lr * wd) - lr) * (1 - lr * wd) - lr / (1 - b1 * b1) * m2 / (Math.Sqrt(v2) / Math.Sqrt(1 - b2 * b2) + eps);
        Assert.Equal(expected, p[0].item<float>(), 5);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void SftBatchLoss_RightPaddedWithoutMask_EqualsTheMaskedLossAndGradients(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, LoraParityTests.AdapterOf(model));
        var vocab = (int)lm.Config.VocabSize;
        var random = new Random(5);
        // Three rows of different lengths: two are padded on the right, with a pad id that is a real token.
        var examples = new[] { 12, 7, 3 }.Select(n =>
        {
            var ids = Enumerable.Range(0, n).Select(_ => random.Next(3, vocab)).ToArray();
            return new Jobs.Engine.Tokenization.SupervisedExample(ids, ids.Select((id, i) => i < 2 ? (int)CausalLMLoss.IgnoreIndex : id).ToArray());
        }).ToList();
        using var batch = SftBatch.Collate(examples, padTokenId: 5);

        var masked = lm.Loss(batch.InputIds, batch.Labels, batch.AttentionMask);
        masked.backward();
        var maskedGrads = lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());
        foreach (var p in lora.Parameters()) p.grad = null;
        var unmasked = batch.Loss(lm);
        unmasked.backward();

        Assert.Equal(masked.item<float>(), unmasked.item<float>(), 5);
        foreach (var (name, p) in lora.TrainableParameters)
            Assert.True(TensorAssert.MaxAbsDiff(maskedGrads[name], p.grad!) <= 1e-5 * Math.Max(1, maskedGrads[name].abs().max().item<float>()), name);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void TokenWeightedAccumulation_EqualsOneBatch(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var lora = PeftAdapter.Load(lm, LoraParityTests.AdapterOf(model));
        using var reference = LoraParityTests.ReferenceTensors(model);
        var ids = reference.Load("input_ids");
        var mask = reference.Load("attention_mask");
        var labels = reference.Load("labels");

        lm.Loss(ids, labels, mask).backward();
        var whole = lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());
        foreach (var p in lora.Parameters()) p.grad = null;

        var rows = Enumerable.Range(0, (int)ids.shape[0]).Select(i => labels[i].data<long>().Select(x => (int)x).ToArray()).ToList();
        var counts = rows.Select(r => GradientAccumulation.LabelTokens([r])).ToList();
        Assert.NotEqual(counts[0], counts[1]); // the padded row has fewer tokens: weighting matters
        var weights = GradientAccumulation.TokenWeighted(counts);
        for (int i = 0; i < rows.Count; i++)
            (lm.Loss(ids.narrow(0, i, 1), labels.narrow(0, i, 1), mask.narrow(0, i, 1)) * weights[i]).backward();
        foreach (var (name, p) in lora.TrainableParameters)
            Assert.True(TensorAssert.MaxAbsDiff(whole[name], p.grad!) <= 1e-6 * Math.Max(1, whole[name].abs().max().item<float>()), name);
        Assert.Equal([0.25, 0.25, 0.25, 0.25], GradientAccumulation.Uniform(4));
    }

    [Fact]
    public void DpoSigmoidLoss_LabelSmoothing()
    {
        using var scope = torch.NewDisposeScope();
        var pc = torch.tensor(new[] { -10f }); var pr = torch.tensor(new[] { -12f });
        var rc = torch.tensor(new[] { -11f }); var rr = torch.tensor(new[] { -11f });
        var (loss, chosen, rejected) = Dpo.SigmoidLoss(pc, pr, rc, rr, 0.5, 0.1);
        double z = 0.5 * ((-10 + 12) - 0);
        double expected = -0.9 * Math.Log(1 / (1 + Math.Exp(-z))) - 0.1 * Math.Log(1 / (1 + Math.Exp(z)));
        Assert.Equal(expected, loss.item<float>(), 5);
        Assert.Equal(0.5f, chosen.item<float>(), 6);
        Assert.Equal(-0.5f, rejected.item<float>(), 6);
    }
}

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class TrainingRobustnessTests
{
    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void DpoLogProbs_IgnoreRightPadding(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        using var reference = LoraParityTests.ReferenceTensors(model);
        var chosen = reference.Load("dpo_chosen");                          // [1, T]
        long promptLen = LoraParityTests.Reference(model).GetProperty("dpo").GetProperty("prompt_len").GetInt64();
        using var noGrad = torch.no_grad();
        var plain = Dpo.SequenceLogProbs(lm, chosen, Dpo.CompletionLabels(chosen, promptLen));
        long pad = lm.Config.PadTokenId ?? 0;
        var padded = torch.cat([chosen, torch.full([1, 5], pad, ScalarType.Int64)], 1);
        var mask = torch.cat([torch.ones_like(chosen), torch.zeros([1, 5], ScalarType.Int64)], 1);
        // a batch of two: the padded sequence and a shorter one
        var shorter = padded.clone();
        var shorterMask = mask.clone();
        shorterMask.narrow(1, chosen.shape[1] - 3, 3).fill_(0);
        var ids = torch.cat([padded, shorter], 0);
        var masks = torch.cat([mask, shorterMask], 0);
        var batch = Dpo.SequenceLogProbs(lm, ids, Dpo.CompletionLabels(ids, promptLen, masks), masks);
        Assert.Equal(plain.item<float>(), batch[0].item<float>(), 3);
        var cut = chosen.narrow(1, 0, chosen.shape[1] - 3);
        Assert.Equal(Dpo.SequenceLogProbs(lm, cut, Dpo.CompletionLabels(cut, promptLen)).item<float>(), batch[1].item<float>(), 3);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Bfloat16Base_TrainsFloat32Adapters(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model), ScalarType.BFloat16);
        var lora = PeftAdapter.Load(lm, LoraParityTests.AdapterOf(model));
        lm.train();
        using var reference = LoraParityTests.ReferenceTensors(model);
        var loss = lm.Loss(reference.Load("input_ids"), reference.Load("labels"), reference.Load("attention_mask"));
        Assert.Equal(ScalarType.Float32, loss.dtype);
        double expected = LoraParityTests.Reference(model).GetProperty("lora_loss").GetDouble();
        Assert.True(Math.Abs(loss.item<float>() - expected) < 0.05, $"bf16 loss {loss.item<float>()} vs {expected}");
        loss.backward();
        foreach (var (name, p) in lora.TrainableParameters)
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.Equal(ScalarType.Float32, p.grad!.dtype);
            var g = reference.Load("grad." + name);
            double cos = (g * p.grad!).sum().item<float>() / (g.norm().item<float>() * p.grad!.norm().item<float>() + 1e-30);
            Assert.True(cos > 0.95, $"{name}: bf16 gradient direction cosine {cos}");
        }
        Assert.All(lm.parameters().Where(p => !p.requires_grad), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var optimizer = new AdamWOptimizer(lora.TrainableParameters, new AdamWOptions(1e-3, 0.9, 0.999, 1e-8, 0.01));
        optimizer.Step();
        lora.Merge();
        Assert.Throws<InvalidOperationException>(() => lora.DisableAdapters());
        lora.Unmerge();
        lora.DisableAdapters().Dispose();
    }
}
