using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// The decoder stack (transformers' <c>LlamaModel</c>/<c>Qwen2Model</c>/<c>MistralModel</c>): token embedding,
/// layers, final norm. Registered as <c>model</c> in <see cref="ForCausalLM"/>, so parameter names are
/// <c>model.embed_tokens.weight</c>, <c>model.layers.{i}.…</c>, <c>model.norm.weight</c>.
/// </summary>
public sealed class DecoderModel : nn.Module
{
    public Embedding embed_tokens;
    public ModuleList<DecoderLayer> layers;
    public RMSNorm norm;

    readonly RotaryEmbedding rotary;
    public ModelConfig Config { get; }

    /// <summary>What training keeps of the layers' activations; applies while gradients are recorded and no cache is used.</summary>
    public ActivationCheckpointing Checkpointing { get; set; } = ActivationCheckpointing.Off;

    /// <summary>The generator the layers draw from in training (LoRA dropout): replayed when a checkpointed layer runs again.</summary>
    public Generator? LayerRandom { get; set; }

    public DecoderModel(ModelConfig config, ScalarType dtype, Device device) : base(nameof(DecoderModel))
    {
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i, dtype, device)).ToArray());
        norm = new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        rotary = new RotaryEmbedding(config);
        RegisterComponents();
    }

    /// <param name="inputIds">[B, T] token ids (int64)</param>
    /// <param name="attentionMask">[B, P + T], 1 for real tokens, 0 for padding; null when there is none</param>
    /// <param name="positionIds">[B, T]; default P, P+1, …</param>
    /// <param name="cache">cached keys/values of P earlier positions; extended by T</param>
    /// <param name="documentIds">[B, T] for packed rows: a token attends only to earlier tokens of its own document
    /// (positions restart at each document's start, given in <paramref name="positionIds"/>); null when each row is one sequence</param>
    /// <returns>final normed hidden states [B, T, hidden]</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null, Tensor? documentIds = null)
    {
        using var scope = torch.NewDisposeScope();
        long t = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        var device = inputIds.device;

        var x = embed_tokens.forward(inputIds);                                                          // [B, T, hidden]
        positionIds ??= torch.arange(past, past + t, dtype: ScalarType.Int64, device: device).unsqueeze(0); // [1, T]
        var (cos, sin) = rotary.Compute(positionIds, x.dtype);                                           // [B|1, T, d]

        // One mask per distinct window (full attention, or a sliding window).
        var masks = new Dictionary<long, (Tensor? Mask, bool IsCausal)>();
        var layerMasks = new List<(Tensor? Mask, bool IsCausal)>(layers.Count);
        foreach (var layer in layers)
        {
            long key = layer.SlidingWindow ?? -1;
            if (!masks.TryGetValue(key, out var m))
            {
                var mask = AttentionMask.Build(attentionMask, t, past, layer.SlidingWindow, device, out bool isCausal, documentIds);
                masks[key] = m = (mask, isCausal);
            }
            layerMasks.Add(m);
        }

        if (Checkpointing != ActivationCheckpointing.Off && cache is null && torch.is_grad_enabled())
        {
            x = CheckpointedLayers.Run(x, new CheckpointedLayers.Stack([.. layers], cos, sin, layerMasks, Checkpointing, LayerRandom));
        }
        else
        {
            for (var i = 0; i < layers.Count; i++) x = layers[i].forward(x, cos, sin, layerMasks[i].Mask, layerMasks[i].IsCausal, cache);
        }
        cache?.Advance(t);

        return norm.forward(x).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) rotary.Dispose();
        base.Dispose(disposing);
    }
}
