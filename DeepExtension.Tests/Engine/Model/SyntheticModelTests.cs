using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Model;

/// <summary>
/// Shapes the reference folders do not cover (explicit head_dim, multi-query attention, biases, llama3 rope,
/// sliding windows, sharded checkpoints), on random weights: self-consistency rather than parity.
/// </summary>
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public sealed class SyntheticModelTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("deepx-synth-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    // Mistral, head_dim 16 != 48 / 6, GQA 6:2, sliding window 4 on 3 layers
    const string Mistral = """
        {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 48, "intermediate_size": 80,
         "num_hidden_layers": 3, "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5,
         "rope_theta": 10000.0, "sliding_window": 4, "vocab_size": 97, "tie_word_embeddings": false}
        """;

    // Llama (transformers 4 layout), multi-query, attention and MLP biases, llama3 rope, tied embeddings
    const string Llama = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "rms_norm_eps": 1e-6,
         "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
         "high_freq_factor": 4.0, "original_max_position_embeddings": 8}, "attention_bias": true, "mlp_bias": true,
         "vocab_size": 71, "tie_word_embeddings": true, "eos_token_id": [1, 2]}
        """;

    // Qwen2 with a sliding window on its second layer only
    const string Qwen2 = """
        {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32, "intermediate_size": 48,
         "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
         "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}, "use_sliding_window": true,
         "sliding_window": 3, "layer_types": ["full_attention", "sliding_attention"], "vocab_size": 64,
         "tie_word_embeddings": false}
        """;

    public static TheoryData<string> Configs => new() { Mistral, Llama, Qwen2 };

    /// <summary>Writes config.json and random weights (in two shards) into a new folder; returns it.</summary>
    string CreateFolder(string configJson)
    {
        string dir = Path.Combine(root, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), configJson);
        var config = ModelConfig.Parse(configJson);
        using var scope = torch.NewDisposeScope();
        using var model = ForCausalLM.Create(config);
        var g = new torch.Generator(11);
        var tensors = model.named_parameters()
            .Select(p => KeyValuePair.Create(p.name, p.name.EndsWith("norm.weight")
                ? 1 + 0.1 * torch.randn(p.parameter.shape, generator: g)
                : 0.2 * torch.randn(p.parameter.shape, generator: g)))
            .ToList();
        long total = tensors.Sum(t => t.Value.numel() * 4);
        SafetensorsWriter.SaveCheckpoint(dir, tensors, maxShardBytes: total / 2 + 1);
        return dir;
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void LoadsFromShards_CacheEqualsFullForward_GreedyEqualsNaive(string configJson)
    {
        string dir = CreateFolder(configJson);
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors.index.json")));
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(dir);
        using var noGrad = torch.no_grad();
        long v = lm.Config.VocabSize;
        var ids = torch.arange(3, 3 + 13, dtype: ScalarType.Int64).remainder(v).unsqueeze(0); // [1, 13]

        var full = lm.forward(ids);
        Assert.False(full.isnan().any().item<bool>());
        using (var cache = lm.NewCache(1, 13))
        {
            var parts = new List<Tensor> { lm.forward(ids.narrow(1, 0, 6), cache: cache) };
            for (int i = 6; i < 13; i++) parts.Add(lm.forward(ids.narrow(1, i, 1), cache: cache));
            TensorAssert.Close(full, torch.cat(parts, 1), 1e-4, "cached vs full");
        }

        // greedy with the cache equals argmax of a full forward pass at every step
        var prompt = new long[] { 4, 8, 15, 16, 23 };
        var generated = TextGenerator.Generate(lm, prompt, new GenerationOptions { MaxNewTokens = 10 }).TokenIds;
        var naive = prompt.ToList();
        for (int i = 0; i < 10; i++)
            naive.Add(lm.forward(torch.tensor(naive.ToArray()).unsqueeze(0))[0, -1].argmax().item<long>());
        Assert.Equal(naive.Skip(prompt.Length), generated);

        // bf16 runs and stays close
        using var bf16 = ForCausalLM.FromPretrained(dir, ScalarType.BFloat16);
        var low = bf16.forward(ids);
        double scale = full.abs().max().item<float>();
        Assert.True(TensorAssert.MaxAbsDiff(full, low) < 0.05 * scale + 0.05);
    }

    [Fact]
    public void SlidingWindow_HidesTokensBeyondTheReceptiveField()
    {
        string dir = CreateFolder(Mistral); // 3 layers, window 4: the last position sees 9 positions back
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(dir);
        using var noGrad = torch.no_grad();
        var a = torch.arange(20, 36, dtype: ScalarType.Int64).unsqueeze(0);     // [1, 16]
        var b = a.clone();
        b[0, 0] = torch.tensor(90L);                                             // position 0: 15 back from the last
        var c = a.clone();
        c[0, 12] = torch.tensor(90L);                                            // position 12: inside the window
        var last = lm.forward(a)[0, -1];
        TensorAssert.Close(last, lm.forward(b)[0, -1], 1e-6, "a token outside the receptive field");
        Assert.True(TensorAssert.MaxAbsDiff(last, lm.forward(c)[0, -1]) > 1e-3);
    }
}
