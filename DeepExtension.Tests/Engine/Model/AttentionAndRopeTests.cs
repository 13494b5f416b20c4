using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class AttentionAndRopeTests
{
    static bool[,] ToArray(Tensor mask) // [1, 1, T, S] or [B, 1, T, S] (row 0)
    {
        var m = mask[0, 0];
        var result = new bool[m.shape[0], m.shape[1]];
        for (int i = 0; i < m.shape[0]; i++)
            for (int j = 0; j < m.shape[1]; j++)
                result[i, j] = m[i, j].item<bool>();
        return result;
    }

    [Fact]
    public void Mask_NotNeeded_UsesSdpaCausalFlag()
    {
        Assert.Null(AttentionMask.Build(null, 5, 0, null, CPU, out bool causal));
        Assert.True(causal);
        Assert.Null(AttentionMask.Build(null, 1, 9, null, CPU, out causal));
        Assert.False(causal);
        Assert.Null(AttentionMask.Build(null, 5, 0, 8, CPU, out causal)); // window larger than the sequence
        Assert.True(causal);
    }

    [Fact]
    public void Mask_CausalWithPast_SlidingWindow_AndPadding()
    {
        using var scope = torch.NewDisposeScope();
        var withPast = ToArray(AttentionMask.Build(null, 2, 3, null, CPU, out _)!);   // queries at positions 3, 4
        Assert.Equal(new bool[,] { { true, true, true, true, false }, { true, true, true, true, true } }, withPast);

        var window = ToArray(AttentionMask.Build(null, 4, 0, 2, CPU, out _)!);        // each sees itself and one before
        Assert.Equal(new bool[,] {
            { true, false, false, false }, { true, true, false, false },
            { false, true, true, false }, { false, false, true, true } }, window);

        // left padding: the pad query sees nothing, so it sees everything (no NaN); real queries skip the pad key
        var padding = torch.tensor(new long[,] { { 0, 1, 1 } });
        var padded = ToArray(AttentionMask.Build(padding, 3, 0, null, CPU, out _)!);
        Assert.Equal(new bool[,] { { true, true, true }, { false, true, false }, { false, true, true } }, padded);
    }

    [Fact]
    public void Llama3RopeScaling_MatchesTheFormula()
    {
        using var scope = torch.NewDisposeScope();
        var scaling = new RopeScaling("llama3", 8, 1, 4, 8192);
        var actual = RotaryEmbedding.InverseFrequencies(128, 500000, scaling);
        var plain = RotaryEmbedding.InverseFrequencies(128, 500000, null);
        for (int i = 0; i < 64; i++)
        {
            double f = 1.0 / Math.Pow(500000, 2.0 * i / 128);
            double wavelen = 2 * Math.PI / f;
            double expected = wavelen < 8192 / 4.0 ? f
                : wavelen > 8192 / 1.0 ? f / 8
                : ((1 - (8192 / wavelen - 1) / 3) * f / 8 + (8192 / wavelen - 1) / 3 * f);
            Assert.Equal(expected, actual[i].item<float>(), expected * 1e-5);
            Assert.Equal(f, plain[i].item<float>(), f * 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void LeftPaddedBatch_WithPositionIds_EqualsUnpaddedSequences(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        long pad = lm.Config.PadTokenId ?? 0;
        var a = new long[] { 5, 9, 13, 21, 34, 55 };
        var b = new long[] { 8, 16, 32 };
        var ids = torch.tensor(new long[,] { { 5, 9, 13, 21, 34, 55 }, { pad, pad, pad, 8, 16, 32 } });
        var mask = torch.tensor(new long[,] { { 1, 1, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 1 } });
        var positions = (mask.cumsum(1) - 1).clamp_min(0);
        using var noGrad = torch.no_grad();
        var batch = lm.forward(ids, mask, positions);
        Assert.False(batch.isnan().any().item<bool>());
        var alone = lm.forward(torch.tensor(b).unsqueeze(0));
        TensorAssert.Close(lm.forward(torch.tensor(a).unsqueeze(0))[0], batch[0], 1e-4, "row 0");
        TensorAssert.Close(alone[0], batch[1].narrow(0, 3, 3), 1e-4, "row 1 real tokens");
    }
}
