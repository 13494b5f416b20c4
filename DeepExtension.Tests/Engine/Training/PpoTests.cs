using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Training;

/// <summary>
/// PPO's pure functions on one fixed tiny batch of two completions over three positions, the second one two tokens long
/// (mask [[1,1,1],[1,1,0]]). The expected numbers were computed by hand with python3's standard library (math only),
/// following TRL's formulas as each function's comment states them; the script's steps are in each test's comments.
/// </summary>
[Collection(TorchCollection.Name)]
public class PpoLossTests
{
    private static Tensor T(float[] values) => torch.tensor(values, [2, 3]);
    private static Tensor Mask() => T([1, 1, 1, 1, 1, 0]);

    [Fact]
    public void PolicyLoss_FixedBatch_EqualsHandComputedClippedSurrogate()
    {
        using var scope = torch.NewDisposeScope();
        var logProbs = T([-1.0f, -0.5f, -2.0f, -0.3f, -1.2f, 0f]).requires_grad_();
        var old = T([-1.2f, -0.5f, -1.0f, -0.3f, -1.0f, 0f]);
        var advantages = T([0.5f, -1.0f, 2.0f, 1.5f, -0.5f, 0f]);

        var result = Ppo.PolicyLoss(logProbs, old, advantages, Mask(), clipRange: 0.2);

        // ratio = exp(new − old) = [e^0.2, 1, e^−1, 1, e^−0.2]; per token max(−A·r, −A·clip(r, 0.8, 1.2)):
        // [−0.5·1.2 (clipped, larger), 1, −2·e^−1, −1.5, 0.5·e^−0.2]; their mean over the 5 tokens = −0.2852787011607788.
        Assert.Equal(-0.2852787011607788, result.Loss.item<float>(), 5);
        // Only token (0,0) is decided by the clipped term: 1 of 5.
        Assert.Equal(0.2, result.ClipFraction.item<float>(), 6);
        // ½·mean((new − old)²) = ½·(0.04 + 0 + 1 + 0 + 0.04)/5 = 0.108.
        Assert.Equal(0.108, result.ApproxKl.item<float>(), 6);
        // The clipped token has no gradient; token (0,1): d/dlogp of −A·r/5 = −(−1)·1/5 = 0.2.
        result.Loss.backward();
        Assert.Equal(0.0, logProbs.grad![0, 0].item<float>(), 6);
        Assert.Equal(0.2, logProbs.grad![0, 1].item<float>(), 6);
        Assert.Equal(0.0, logProbs.grad![1, 2].item<float>(), 6);
    }

    [Fact]
    public void ValueLoss_FixedBatch_EqualsHandComputedClippedLoss()
    {
        using var scope = torch.NewDisposeScope();
        var values = T([0.5f, 1.0f, -0.2f, 0.3f, 0.9f, 0f]);
        var old = T([0.2f, 1.0f, 0.1f, 0.6f, 0.4f, 0f]);
        var returns = T([1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0f]);

        var result = Ppo.ValueLoss(values, old, returns, Mask(), clipRangeValue: 0.2);

        // clipped V = old + clip(V − old, ±0.2) = [0.4, 1.0, −0.1, 0.4, 0.6]; per token max((V−R)², (Vc−R)²) =
        // [0.36, 1, 0.04, 0.16, 0.16]; ½·mean = ½·1.72/5 = 0.172. Tokens 1, 4, 5 are decided by the clipped term: 3/5.
        Assert.Equal(0.172, result.Loss.item<float>(), 5);
        Assert.Equal(0.6, result.ClipFraction.item<float>(), 6);
    }

    [Fact]
    public void Gae_FixedBatch_EqualsHandComputedAdvantagesReturnsAndWhitening()
    {
        using var scope = torch.NewDisposeScope();
        var rewards = T([0f, 0f, 1f, 0f, 0.5f, 0f]);
        var values = T([0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0f]);

        var (advantages, returns) = Ppo.Gae(rewards, values, Mask(), gamma: 0.9, lambda: 0.8);

        // Backwards per row, δ = r + 0.9·V_next − V, A = δ + 0.72·A_next: row 0 A = [0.49328, 0.574, 0.7], row 1
        // A = [0.05, 0, 0]; returns = A + V.
        float[] expectedReturns = [0.59328f, 0.774f, 1.0f, 0.45f, 0.5f, 0f];
        Assert.All(returns.flatten().data<float>().ToArray().Zip(expectedReturns), p => Assert.Equal(p.Second, p.First, 5));
        // Whitened over the 5 masked tokens with the unbiased variance (mean 0.36346, var · 5/4), 0 where masked.
        float[] expectedAdvantages = [0.4080983086245082f, 0.6618394926287776f, 1.0579171584431721f, -0.9853406413929922f, -1.1425143183034663f, 0f];
        Assert.All(advantages.flatten().data<float>().ToArray().Zip(expectedAdvantages), p => Assert.Equal(p.Second, p.First, 4));
    }

    [Fact]
    public void Rewards_FixedBatch_AreKlPenaltyPlusScoreOnTheLastToken()
    {
        using var scope = torch.NewDisposeScope();
        var logProbs = T([-1.0f, -2.0f, -0.5f, -0.7f, -0.1f, 0f]);
        var reference = T([-1.5f, -1.0f, -0.5f, -0.2f, -0.6f, 0f]);

        var (rewards, kl, nonScore) = Ppo.Rewards(logProbs, reference, torch.tensor(new float[] { 2.0f, -1.0f }), Mask(), klCoef: 0.1);

        // kl = logp − ref = [0.5, −1, 0, −0.5, 0.5, 0]; reward = −0.1·kl, plus score 2 at (0,2) and −1 at (1,1).
        float[] expected = [-0.05f, 0.1f, 2.0f, 0.05f, -1.05f, 0f];
        Assert.All(rewards.flatten().data<float>().ToArray().Zip(expected), p => Assert.Equal(p.Second, p.First, 6));
        Assert.Equal(0.0, kl[1, 2].item<float>(), 6);
        Assert.Equal(-0.1 * (0.5 - 1 + 0 - 0.5 + 0.5), nonScore.sum().item<float>(), 6);
    }

    [Fact]
    public void MaskedWhiten_WithoutShift_KeepsTheMeanAndScalesToUnitVariance()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1f, 2f, 3f, 4f, 5f, 100f]);

        var shifted = Ppo.MaskedWhiten(x, Mask());
        var kept = Ppo.MaskedWhiten(x, Mask(), shiftMean: false);

        // Masked values 1..5: mean 3, unbiased variance 2.5; the masked-out 100 takes no part.
        Assert.Equal((1 - 3) / Math.Sqrt(2.5 + 1e-8), shifted[0, 0].item<float>(), 5);
        Assert.Equal((1 - 3) / Math.Sqrt(2.5 + 1e-8) + 3, kept[0, 0].item<float>(), 5);
    }

    [Fact]
    public void ValueHead_SaveAndLoad_RoundTripsUnderTrlNames()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("value-head").FullName;
        try
        {
            using var head = new ValueHead(8, torch.CPU, new Generator(5));
            head.Save(dir);
            using var other = new ValueHead(8, torch.CPU, new Generator(6));
            Assert.False(other.summary.weight!.allclose(head.summary.weight!));

            other.Load(dir);

            Assert.Equal(head.summary.weight!.data<float>().ToArray(), other.summary.weight!.data<float>().ToArray());
            Assert.Equal(head.summary.bias!.data<float>().ToArray(), other.summary.bias!.data<float>().ToArray());
            using var file = DeepExtension.Jobs.Engine.Safetensors.SafetensorsFile.Open(Path.Combine(dir, ValueHead.FileName));
            Assert.True(file.Contains("v_head.summary.weight") && file.Contains("v_head.summary.bias"));
            Assert.Equal([2, 3], head.forward(torch.ones(2, 3, 8)).shape);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
