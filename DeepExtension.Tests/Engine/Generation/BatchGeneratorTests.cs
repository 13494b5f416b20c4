using DeepExtension.Jobs.Engine.Generation;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Generation;

[Collection(TorchCollection.Name)]
public class BatchGeneratorTests
{
    /// <summary>Three prompts of different lengths (so two are left-padded), from the model's own tokenizer.</summary>
    private static List<IReadOnlyList<long>> Prompts(HfTokenizer tokenizer) =>
    [
        tokenizer.Encode("The quick brown fox jumps over the lazy dog").Select(i => (long)i).ToList(),
        tokenizer.Encode("Hello").Select(i => (long)i).ToList(),
        tokenizer.Encode("One two three four").Select(i => (long)i).ToList(),
    ];

    [Theory]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-llama")]
    public void Greedy_PromptsOfDifferentLengths_EqualsOneAtATime(string name)
    {
        var dir = ReferenceModels.BundledPathOf(name);
        var tokenizer = HfTokenizer.Load(dir);
        using var lm = ForCausalLM.FromPretrained(dir);
        var prompts = Prompts(tokenizer);
        Assert.True(prompts.Select(p => p.Count).Distinct().Count() == 3, "the prompts must differ in length");
        var options = new GenerationOptions { MaxNewTokens = 12 };

        var batched = BatchGenerator.Generate(lm, prompts, options, tokenizer);

        for (int i = 0; i < prompts.Count; i++)
        {
            var alone = TextGenerator.Generate(lm, prompts[i], options);
            Assert.Equal(alone.TokenIds, batched[i].TokenIds);
            Assert.Null(batched[i].StopTokenId);
            Assert.Equal(tokenizer.Decode(alone.TokenIds.Select(id => (int)id), skipSpecialTokens: true), batched[i].Text);
        }
    }

    [Fact]
    public void Greedy_StopTokenOfOneRow_EndsOnlyThatRowAsAlone()
    {
        var dir = ReferenceModels.BundledPathOf("tiny-qwen2");
        var tokenizer = HfTokenizer.Load(dir);
        using var lm = ForCausalLM.FromPretrained(dir);
        var prompts = Prompts(tokenizer);
        // The third token the second prompt generates alone becomes a stop token.
        var free = TextGenerator.Generate(lm, prompts[1], new GenerationOptions { MaxNewTokens = 12 });
        var options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [free.TokenIds[2]] };

        var batched = BatchGenerator.Generate(lm, prompts, options);

        Assert.Equal(free.TokenIds[2], batched[1].StopTokenId);
        Assert.NotNull(batched[1].StopLogProb);
        Assert.Equal([.. batched[1].TokenIds, free.TokenIds[2]], batched[1].TokenIdsWithStop);
        for (int i = 0; i < prompts.Count; i++)
        {
            var alone = TextGenerator.Generate(lm, prompts[i], options);
            Assert.Equal(alone.TokenIds, batched[i].TokenIds);
            Assert.Equal(alone.StopTokenId, batched[i].StopTokenId);
            Assert.Equal(batched[i].TokenIds.Length, batched[i].LogProbs.Length);
        }
    }

    [Fact]
    public void Greedy_LogProbs_EqualLogSoftmaxOfAFullForwardPass()
    {
        using var scope = torch.NewDisposeScope();
        var dir = ReferenceModels.BundledPathOf("tiny-llama");
        var tokenizer = HfTokenizer.Load(dir);
        using var lm = ForCausalLM.FromPretrained(dir);
        var prompts = Prompts(tokenizer);

        var batched = BatchGenerator.Generate(lm, prompts, new GenerationOptions { MaxNewTokens = 6 });

        using var noGrad = torch.no_grad();
        for (int i = 0; i < prompts.Count; i++)
        {
            var all = prompts[i].Concat(batched[i].TokenIds).ToArray();
            var logits = lm.forward(torch.tensor(all, ScalarType.Int64).unsqueeze(0))[0].log_softmax(-1); // [T, V]
            for (int k = 0; k < batched[i].TokenIds.Length; k++)
            {
                var expected = logits[prompts[i].Count - 1 + k, batched[i].TokenIds[k]].item<float>();
                Assert.Equal(expected, batched[i].LogProbs[k], 4);
            }
        }
    }

    [Fact]
    public void Sampling_FixedSeed_IsReproducibleAndSeedMatters()
    {
        var dir = ReferenceModels.BundledPathOf("tiny-qwen2");
        var tokenizer = HfTokenizer.Load(dir);
        using var lm = ForCausalLM.FromPretrained(dir);
        var prompts = Prompts(tokenizer);
        var options = new GenerationOptions { MaxNewTokens = 8, Temperature = 0.9, TopP = 0.95, TopK = 50, Seed = 11 };

        var a = BatchGenerator.Generate(lm, prompts, options);
        var b = BatchGenerator.Generate(lm, prompts, options);
        var other = BatchGenerator.Generate(lm, prompts, options with { Seed = 12 });

        for (int i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(8, a[i].TokenIds.Length);
            Assert.Equal(a[i].TokenIds, b[i].TokenIds);
            Assert.Equal(a[i].LogProbs, b[i].LogProbs);
            Assert.All(a[i].LogProbs, lp => Assert.True(lp < 0 && float.IsFinite(lp)));
        }
        // 24 tokens from a nearly flat 512-token distribution: another seed cannot repeat them all.
        Assert.NotEqual(a.SelectMany(s => s.TokenIds), other.SelectMany(s => s.TokenIds));
    }

    [Fact]
    public void Sampling_TinyTopP_IsGreedy()
    {
        var dir = ReferenceModels.BundledPathOf("tiny-qwen2");
        var tokenizer = HfTokenizer.Load(dir);
        using var lm = ForCausalLM.FromPretrained(dir);
        var prompts = Prompts(tokenizer);

        var greedy = BatchGenerator.Generate(lm, prompts, new GenerationOptions { MaxNewTokens = 6 });
        var nucleus = BatchGenerator.Generate(lm, prompts, new GenerationOptions { MaxNewTokens = 6, Temperature = 1.0, TopP = 1e-6, Seed = 3 });

        for (int i = 0; i < prompts.Count; i++) Assert.Equal(greedy[i].TokenIds, nucleus[i].TokenIds);
    }
}
