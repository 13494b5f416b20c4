using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Engine.Model;

public class ModelConfigTests
{
    const string Transformers4Llama3 = """
        {
          "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
          "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
          "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
          "max_position_embeddings": 131072, "rope_theta": 500000.0,
          "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                           "original_max_position_embeddings": 8192, "rope_type": "llama3"},
          "tie_word_embeddings": true, "vocab_size": 128256,
          "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
          "attention_bias": false, "mlp_bias": false, "head_dim": 64
        }
        """;

    [Fact]
    public void Transformers4Layout_Llama32()
    {
        var c = ModelConfig.Parse(Transformers4Llama3);
        Assert.Equal("LlamaForCausalLM", c.Architecture);
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), c.RopeScaling);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(8, c.NumKeyValueHeads);
        Assert.True(c.TieWordEmbeddings);
        Assert.False(c.QkvBias);
        Assert.Equal([128001L, 128008, 128009], c.EosTokenIds);
        Assert.Equal(128000, c.BosTokenId);
        Assert.All(c.SlidingWindows, w => Assert.Null(w));
    }

    [Fact]
    public void Transformers5Layout_RopeParameters()
    {
        string json = Transformers4Llama3
            .Replace("\"rope_theta\": 500000.0,", "")
            .Replace("\"rope_scaling\"", "\"rope_parameters\"")
            .Replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"llama3\", \"rope_theta\": 500000.0");
        var c = ModelConfig.Parse(json);
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), c.RopeScaling);
    }

    [Fact]
    public void Qwen2_HasQkvBias_AndHeadDimFromHiddenSize()
    {
        var c = ModelConfig.Parse("""
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
             "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
             "rope_theta": 1000000.0, "rope_scaling": null, "sliding_window": 32768, "use_sliding_window": false,
             "max_window_layers": 21, "tie_word_embeddings": true, "vocab_size": 151936, "eos_token_id": 151643}
            """);
        Assert.Equal(64, c.HeadDim);
        Assert.True(c.QkvBias);
        Assert.False(c.OutputBias);
        Assert.Null(c.RopeScaling);
        Assert.Equal(1e6, c.RopeTheta);
        Assert.Equal([151643L], c.EosTokenIds);
        Assert.All(c.SlidingWindows, w => Assert.Null(w)); // use_sliding_window false
    }

    [Fact]
    public void Mistral_SlidingWindowOnEveryLayer()
    {
        var c = ModelConfig.Parse("""
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
             "num_hidden_layers": 4, "num_attention_heads": 32, "num_key_value_heads": 8, "rope_theta": 10000.0,
             "sliding_window": 4096, "vocab_size": 32000, "attention_bias": true}
            """);
        Assert.Equal(128, c.HeadDim);
        Assert.Equal([4096L, 4096, 4096, 4096], c.SlidingWindows);
        Assert.False(c.QkvBias); // Mistral has no biases whatever attention_bias says
        Assert.False(c.TieWordEmbeddings);
    }

    [Fact]
    public void UnsupportedArchitectureOrRope_Throws()
    {
        Assert.Throws<NotSupportedException>(() => ModelConfig.Parse("""{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}"""));
        Assert.Throws<NotSupportedException>(() => ModelConfig.Parse(Transformers4Llama3.Replace("\"llama3\"", "\"yarn\"")));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ReferenceModels_Parse(string model)
    {
        var c = ModelConfig.Load(ReferenceModels.PathOf(model));
        Assert.Contains(c.Architecture, ModelConfig.SupportedArchitectures);
        Assert.True(c.RopeTheta > 0);
        Assert.Equal(0, c.NumAttentionHeads % c.NumKeyValueHeads);
    }
}
