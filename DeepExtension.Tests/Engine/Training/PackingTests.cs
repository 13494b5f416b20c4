using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Training;

/// <summary>
/// Padding-free batches: the same examples packed end to end give the loss and gradients of the padded batch, and no
/// token sees another example, for every reference model folder (fp32 on the CPU).
/// </summary>
[Collection(TorchCollection.Name)]
public class PackingTests(ITestOutputHelper output)
{
    /// <summary>Examples of mixed lengths, with unscored prompts of mixed lengths.</summary>
    static List<SupervisedExample> Examples(long vocab, int seed, params int[] lengths)
    {
        var random = new Random(seed);
        return lengths.Select(n =>
        {
            var ids = Enumerable.Range(0, n).Select(_ => random.Next((int)vocab)).ToArray();
            var prompt = random.Next(1, Math.Max(2, n / 2));
            var labels = ids.Select((id, j) => j < prompt ? SupervisedExample.IgnoreIndex : id).ToArray();
            return new SupervisedExample(ids, labels);
        }).ToList();
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void PackedLossAndGradients_EqualThePaddedBatch(string model)
    {
        using var scope = torch.NewDisposeScope();
        var (lm, lora) = ActivationCheckpointingTests.ModelWithAdapter(model, dropout: 0);
        using var _ = lm;
        var examples = Examples(lm.Config.VocabSize, seed: 1, 23, 5, 17, 9, 30, 12);

        Dictionary<string, Tensor> Gradients(Func<Tensor> loss, out double value)
        {
            foreach (var p in lora.Parameters()) p.grad = null;
            using var s = torch.NewDisposeScope();
            var l = loss();
            l.backward();
            value = l.item<float>();
            return lora.TrainableParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.detach().clone().MoveToOuterDisposeScope());
        }

        using var padded = SftBatch.Collate(examples, padTokenId: 0);
        using var rows = PackedBatch.Pack(examples, padTokenId: 0);                              // rows no longer than the longest example
        using var oneRow = PackedBatch.Pack(examples, padTokenId: 0, rowCapacity: 1000);         // everything in one row
        Assert.True(rows.InputIds.shape[0] < examples.Count && rows.InputIds.shape[1] == 30, "fewer rows than examples, none longer than the longest");
        Assert.Equal(1, oneRow.InputIds.shape[0]);
        Assert.Equal(padded.LabelTokens, rows.LabelTokens);
        Assert.Equal(padded.LabelTokens, oneRow.LabelTokens);

        var expected = Gradients(() => padded.Loss(lm), out var paddedLoss);
        foreach (var (name, packed) in new[] { ("rows", rows), ("one row", oneRow) })
        {
            var actual = Gradients(() => packed.Loss(lm), out var packedLoss);
            double worst = expected.Max(e => TensorAssert.MaxAbsDiff(e.Value, actual[e.Key]) / Math.Max(1e-30, e.Value.abs().max().item<float>()));
            output.WriteLine($"{model} {name}: loss {packedLoss} vs padded {paddedLoss}; worst relative gradient difference {worst:G3}; " +
                             $"{packed.Tokens} tokens in {packed.Slots} slots (padded: {padded.InputIds.numel()})");
            Assert.True(Math.Abs(packedLoss - paddedLoss) <= 1e-5, $"{model} {name}: packed loss {packedLoss} vs padded {paddedLoss}");
            Assert.True(worst <= 1e-5, $"{model} {name}: a LoRA gradient differs by {worst:G3} of its largest value");
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void NoTokenSeesAnotherExample(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var examples = Examples(lm.Config.VocabSize, seed: 2, 11, 14, 7);
        // Every other example changed completely: the logits of example 1 must not move at all.
        var changed = examples.Select((e, i) => i == 1 ? e : Examples(lm.Config.VocabSize, seed: 100 + i, e.InputIds.Length)[0]).ToList();

        using var packed = PackedBatch.Pack(examples, 0, rowCapacity: 1000);
        using var packedChanged = PackedBatch.Pack(changed, 0, rowCapacity: 1000);
        var logits = lm.forward(packed.InputIds, positionIds: packed.PositionIds, documentIds: packed.DocumentIds);
        var logitsChanged = lm.forward(packedChanged.InputIds, positionIds: packedChanged.PositionIds, documentIds: packedChanged.DocumentIds);
        var alone = lm.forward(torch.tensor(examples[1].InputIds.Select(i => (long)i).ToArray(), [1, examples[1].InputIds.Length]));

        long start = examples[0].InputIds.Length, length = examples[1].InputIds.Length;  // example 1 follows example 0 in the row
        var mine = logits.narrow(1, start, length);
        TensorAssert.Identical(mine, logitsChanged.narrow(1, start, length), "example 1's logits with the other examples changed");
        var diff = TensorAssert.MaxAbsDiff(alone, mine);
        output.WriteLine($"{model}: example 1 packed vs alone, max |diff| {diff:G3}");
        Assert.True(diff <= 1e-5, $"{model}: example 1 packed differs from example 1 alone by {diff}");
        // The examples before and after did change: the check above is not vacuous.
        Assert.True(TensorAssert.MaxAbsDiff(logits.narrow(1, 0, start), logitsChanged.narrow(1, 0, start)) > 1e-3);
    }

    [Fact]
    public void Layout_FirstFitDecreasing_PositionsRestart_FirstLabelsMasked()
    {
        var examples = Examples(100, seed: 3, 4, 6, 3, 2);
        using var packed = PackedBatch.Pack(examples, padTokenId: 99, rowCapacity: 8);
        // Longest first: 6 → row 0; 4 → row 1; 3 → row 1 (4 + 3 ≤ 8); 2 → row 0 (6 + 2 ≤ 8).
        Assert.Equal([1, 0, 1, 0], packed.RowOf);
        Assert.Equal([2, 8], packed.InputIds.shape);
        Assert.Equal(15, packed.Tokens);
        Assert.Equal(16, packed.Slots);
        var positions = packed.PositionIds.data<long>().ToArray();
        var documents = packed.DocumentIds!.data<long>().ToArray();
        var labels = packed.Labels.data<long>().ToArray();
        var ids = packed.InputIds.data<long>().ToArray();
        // Row 0: example 1 (6 tokens) then example 3 (2 tokens); row 1: example 0 (4), example 2 (3), one pad.
        Assert.Equal([0, 1, 2, 3, 4, 5, 0, 1, 0, 1, 2, 3, 0, 1, 2, 0], positions);
        Assert.Equal([1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 2, 0], documents);
        Assert.Equal(99, ids[15]);
        foreach (var start in new[] { 0, 6, 8, 12, 15 }) Assert.Equal(-100, labels[start]);
        Assert.Equal(examples[3].InputIds[1], (int)ids[7]);
        Assert.Equal(examples[3].Labels[1], (int)labels[7]);
    }

    [Fact]
    public void OneExamplePerRow_NeedsNoMask()
    {
        // Examples of one length cannot share a row: the batch is a padded one, and attention runs on the causal flag.
        using var same = PackedBatch.Pack(Examples(100, seed: 4, 8, 8, 8), padTokenId: 0);
        Assert.Null(same.DocumentIds);
        Assert.Equal([3, 8], same.InputIds.shape);
        using var mixed = PackedBatch.Pack(Examples(100, seed: 4, 8, 3, 5), padTokenId: 0);
        Assert.NotNull(mixed.DocumentIds);
    }
}
