using System.Text.Json;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class GenerationTests
{
    static (long[] Prompt, long[] Output) Greedy(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceModels.PathOf(model), "reference.json")));
        var g = doc.RootElement.GetProperty("greedy");
        return (g.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                g.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Greedy_WithKVCache_EqualsTransformers(string model)
    {
        var (prompt, expected) = Greedy(model);
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var streamed = new List<long>();
        var result = TextGenerator.Generate(lm, prompt, new GenerationOptions { MaxNewTokens = expected.Length }, streamed.Add);
        Assert.Equal(expected, result.TokenIds);
        Assert.Equal(expected, streamed);
        Assert.Null(result.StopTokenId);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void KVCache_StepByStep_EqualsFullForward(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var (prompt, output) = Greedy(model);
        var all = prompt.Concat(output).ToArray();
        var ids = torch.tensor(all, ScalarType.Int64).unsqueeze(0);
        using var noGrad = torch.no_grad();
        var full = lm.forward(ids);                                               // [1, T, V]

        using var cache = lm.NewCache(1, all.Length);
        var parts = new List<Tensor> { lm.forward(ids.narrow(1, 0, 5), cache: cache) };   // prefill 5
        parts.Add(lm.forward(ids.narrow(1, 5, 3), cache: cache));                        // 3 more at once
        for (int i = 8; i < all.Length; i++) parts.Add(lm.forward(ids.narrow(1, i, 1), cache: cache));
        Assert.Equal(all.Length, cache.Length);
        TensorAssert.Close(full, torch.cat(parts, 1), 1e-4, "cached vs full logits");
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void StopTokens_EndGeneration(string model)
    {
        var (prompt, expected) = Greedy(model);
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var result = TextGenerator.Generate(lm, prompt, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [expected[3]] });
        int first = Array.IndexOf(expected, expected[3]);
        Assert.Equal(expected.Take(first), result.TokenIds);
        Assert.Equal(expected[3], result.StopTokenId);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Sampling_IsSeededAndFiltered(string model)
    {
        var (prompt, expected) = Greedy(model);
        using var lm = ForCausalLM.FromPretrained(ReferenceModels.PathOf(model));
        var options = new GenerationOptions { MaxNewTokens = 8, Temperature = 0.8, TopP = 0.9, TopK = 40, Seed = 7 };
        var a = TextGenerator.Generate(lm, prompt, options).TokenIds;
        var b = TextGenerator.Generate(lm, prompt, options).TokenIds;
        Assert.Equal(8, a.Count);
        Assert.Equal(a, b);
        Assert.All(a, id => Assert.InRange(id, 0, lm.Config.VocabSize - 1));
        // a tiny top-p keeps only the most likely token: greedy again
        var nucleus = TextGenerator.Generate(lm, prompt, options with { TopP = 1e-6, MaxNewTokens = expected.Length }).TokenIds;
        Assert.Equal(expected, nucleus);
        var topOne = TextGenerator.Generate(lm, prompt, options with { TopK = 1, TopP = 1, MaxNewTokens = expected.Length }).TokenIds;
        Assert.Equal(expected, topOne);
    }

    [Fact]
    public void Choose_TopP_FollowsTransformersSemantics()
    {
        using var scope = torch.NewDisposeScope();
        // probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.7 keeps the first two (their mass reaches 0.8 ≥ 0.7)
        var logits = torch.tensor(new[] { 0.5f, 0.3f, 0.15f, 0.05f }).log();
        var options = new GenerationOptions { Temperature = 1, TopP = 0.7 };
        var generator = new torch.Generator(1);
        var seen = Enumerable.Range(0, 200).Select(_ => TextGenerator.Choose(logits, options, generator).item<long>()).ToHashSet();
        Assert.Equal(new HashSet<long> { 0, 1 }, seen);
    }
}
