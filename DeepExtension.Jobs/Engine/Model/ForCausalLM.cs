using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Safetensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// A decoder-only causal language model of the Llama family (transformers' <c>LlamaForCausalLM</c>,
/// <c>Qwen2ForCausalLM</c>, <c>MistralForCausalLM</c>): <see cref="model"/> plus the output projection
/// <see cref="lm_head"/> (absent when the embeddings are tied). Parameter names equal the Hugging Face weight
/// names, so a checkpoint loads without remapping.
/// </summary>
public class ForCausalLM : nn.Module
{
    public DecoderModel model;
    /// <summary>Output projection [V, H]; null when <c>tie_word_embeddings</c> (then <c>model.embed_tokens.weight</c> is used).
    /// Typed as a module so that it can be wrapped.</summary>
    public nn.Module<Tensor, Tensor>? lm_head;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    protected ForCausalLM(ModelConfig config, ScalarType dtype, Device device, string name) : base(name)
    {
        TorchRuntime.EnsureInitialized();
        Config = config;
        DType = dtype;
        Device = device;
        model = new DecoderModel(config, dtype, device);
        lm_head = config.TieWordEmbeddings ? null : Layers.Linear(config.HiddenSize, config.VocabSize, bias: false, dtype, device);
        RegisterComponents();
        // The weights live as long as the model, not as long as a dispose scope the caller happens to be in.
        foreach (var p in parameters()) p.DetachFromDisposeScope();
        foreach (var b in buffers()) b.DetachFromDisposeScope();
    }

    /// <summary>A model with uninitialised weights for <paramref name="config"/>'s architecture.</summary>
    public static ForCausalLM Create(ModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        TorchRuntime.EnsureInitialized();
        device ??= torch.CPU;
        return config.Architecture switch
        {
            "LlamaForCausalLM" => new LlamaForCausalLM(config, dtype, device),
            "Qwen2ForCausalLM" => new Qwen2ForCausalLM(config, dtype, device),
            "MistralForCausalLM" => new MistralForCausalLM(config, dtype, device),
            _ => throw new NotSupportedException($"architecture '{config.Architecture}' is not supported"),
        };
    }

    /// <summary>
    /// Loads a Hugging Face model folder (config.json + model.safetensors or sharded safetensors) in
    /// <paramref name="dtype"/> on <paramref name="device"/> (default CPU; see <see cref="TorchRuntime.DefaultDevice"/>).
    /// Every parameter must be in the checkpoint; unexpected tensors are an error.
    /// </summary>
    public static ForCausalLM FromPretrained(string directory, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var config = ModelConfig.Load(directory);
        var lm = Create(config, dtype, device);
        try
        {
            using var checkpoint = SafetensorsCheckpoint.Open(directory);
            lm.LoadWeights(checkpoint);
            lm.eval();
            return lm;
        }
        catch
        {
            lm.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies every parameter from <paramref name="checkpoint"/> (converted to the parameter's dtype and device).
    /// Ignores <c>lm_head.weight</c> when the embeddings are tied and legacy <c>rotary_emb.inv_freq</c> buffers.
    /// </summary>
    public void LoadWeights(SafetensorsCheckpoint checkpoint, bool strict = true)
    {
        var parameters = named_parameters().ToList();
        var missing = parameters.Select(p => p.name).Where(n => !checkpoint.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"the checkpoint lacks {missing.Count} parameter(s): {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}");
        if (strict)
        {
            var known = parameters.Select(p => p.name).ToHashSet(StringComparer.Ordinal);
            var unexpected = checkpoint.Names
                .Where(n => !known.Contains(n) && !n.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)
                            && !(n == "lm_head.weight" && Config.TieWordEmbeddings))
                .ToList();
            if (unexpected.Count > 0)
                throw new InvalidDataException($"the checkpoint has {unexpected.Count} unexpected tensor(s): {string.Join(", ", unexpected.Take(5))}");
        }
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in parameters)
        {
            var info = checkpoint.Info(name);
            if (!info.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"{name}: checkpoint shape [{string.Join(",", info.Shape)}], model [{string.Join(",", parameter.shape)}]");
            using var loaded = checkpoint.Load(name, parameter.dtype, parameter.device);
            parameter.copy_(loaded);
        }
    }

    /// <summary>The output projection's weight [V, H] (the embedding when tied), or null when lm_head was replaced by
    /// a module that is not a plain bias-free Linear.</summary>
    public Tensor? OutputWeight => lm_head switch
    {
        null => model.embed_tokens.weight,
        Linear { bias: null } linear => linear.weight,
        _ => null,
    };

    /// <summary>Final hidden states [B, T, H]; see <see cref="DecoderModel.forward"/>.</summary>
    public Tensor Hidden(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null, Tensor? documentIds = null) =>
        model.forward(inputIds, attentionMask, positionIds, cache, documentIds);

    /// <summary>Logits [..., V] (model dtype) for hidden states [..., H].</summary>
    public Tensor Logits(Tensor hidden) =>
        lm_head is null ? nn.functional.linear(hidden, model.embed_tokens.weight!) : lm_head.forward(hidden);

    /// <summary>
    /// Logits [B, T', V] in the model's dtype: for all T positions, or only the last <paramref name="logitsToKeep"/>
    /// (T' = logitsToKeep) when it is positive (generation needs only the last one).
    /// </summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null, long logitsToKeep = 0,
        Tensor? documentIds = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = Hidden(inputIds, attentionMask, positionIds, cache, documentIds);
        if (logitsToKeep > 0 && logitsToKeep < hidden.shape[1])
            hidden = hidden.narrow(1, hidden.shape[1] - logitsToKeep, logitsToKeep);
        return Logits(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean causal-LM loss (float32 scalar) of <paramref name="labels"/> [B, T] (-100 = ignored; typically input_ids
    /// with padding and prompt positions set to -100), computed from the hidden states in chunks so that the
    /// full-vocabulary logits are never materialised; see <see cref="CausalLMLoss.FromHidden"/>. Packed rows pass
    /// <paramref name="documentIds"/> (see <see cref="DecoderModel.forward"/>) and -100 at each document's first label.
    /// </summary>
    public Tensor Loss(Tensor inputIds, Tensor labels, Tensor? attentionMask = null, Tensor? positionIds = null, long? chunkTokens = null,
        Tensor? documentIds = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = Hidden(inputIds, attentionMask, positionIds, documentIds: documentIds);
        var weight = OutputWeight;
        var loss = weight is not null
            ? CausalLMLoss.FromHidden(hidden, weight, labels, chunkTokens)
            : CausalLMLoss.FromLogits(Logits(hidden), labels, chunkTokens);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>A KV cache for <paramref name="batch"/> sequences of up to <paramref name="maxLength"/> positions.</summary>
    public KVCache NewCache(long batch, long maxLength) => new(Config, batch, maxLength, DType, Device);
}

/// <summary>transformers' <c>LlamaForCausalLM</c> (optional attention/MLP biases, llama3 rope scaling).</summary>
public sealed class LlamaForCausalLM(ModelConfig config, ScalarType dtype, Device device)
    : ForCausalLM(config, dtype, device, nameof(LlamaForCausalLM));

/// <summary>transformers' <c>Qwen2ForCausalLM</c> (biases on q/k/v, optional sliding window on upper layers).</summary>
public sealed class Qwen2ForCausalLM(ModelConfig config, ScalarType dtype, Device device)
    : ForCausalLM(config, dtype, device, nameof(Qwen2ForCausalLM));

/// <summary>transformers' <c>MistralForCausalLM</c> (sliding-window attention).</summary>
public sealed class MistralForCausalLM(ModelConfig config, ScalarType dtype, Device device)
    : ForCausalLM(config, dtype, device, nameof(MistralForCausalLM));
