using DeepExtension.Jobs.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// A <see cref="ForCausalLM"/> with LoRA wrappers on its target projections (PEFT's <c>get_peft_model</c>): every
/// base parameter is frozen; the float32 <c>lora_A</c>/<c>lora_B</c> weights are the only trainable parameters.
/// The model keeps its own names (<c>model.layers.0.self_attn.q_proj.lora_A.weight</c> in
/// <c>named_parameters()</c>); <see cref="TrainableParameters"/> uses PEFT's in-memory names
/// (<c>model.layers.0.self_attn.q_proj.lora_A.default.weight</c>) and <see cref="PeftAdapter"/> the on-disk
/// names (<c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>).
/// The wrapped model is owned by the caller (dispose it; the wrappers are part of it).
/// </summary>
public sealed class LoraModel
{
    public ForCausalLM Model { get; }
    public LoraConfig Config { get; }
    /// <summary>Module path (<c>model.layers.{i}.self_attn.q_proj</c>) → its wrapper, in model order.</summary>
    public IReadOnlyList<(string Module, LoraLinear Layer)> Layers { get; }
    /// <summary>PEFT names (with <c>.default</c>) → float32 trainable parameters, lora_A before lora_B, in model order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters { get; }

    LoraModel(ForCausalLM model, LoraConfig config, List<(string, LoraLinear)> layers)
    {
        Model = model;
        Config = config;
        Layers = layers;
        TrainableParameters = layers.SelectMany(l => new[]
        {
            ($"{l.Item1}.lora_A.default.weight", (Parameter)l.Item2.lora_A.weight!),
            ($"{l.Item1}.lora_B.default.weight", (Parameter)l.Item2.lora_B.weight!),
        }).ToList();
    }

    /// <summary>
    /// Freezes <paramref name="model"/> and wraps its <see cref="LoraConfig.TargetModules"/> with fresh adapters
    /// (A kaiming-uniform from <paramref name="generator"/> or the global generator, B = 0).
    /// </summary>
    public static LoraModel Inject(ForCausalLM model, LoraConfig config, Generator? generator = null)
    {
        config.Validate();
        var targets = config.ResolvedTargets();
        foreach (var p in model.parameters()) p.requires_grad = false;
        var layers = new List<(string, LoraLinear)>();
        for (int i = 0; i < model.model.layers.Count; i++)
        {
            var layer = model.model.layers[i];
            foreach (var name in targets)
            {
                bool attention = LoraConfig.AttentionProjections.Contains(name);
                var current = attention ? Projection(layer.self_attn, name) : Projection(layer.mlp, name);
                if (current is LoraLinear) throw new InvalidOperationException($"layer {i} {name} already has a LoRA adapter");
                if (current is not Linear linear) throw new NotSupportedException($"layer {i} {name} is a {current.GetType().Name}, not a Linear");
                var wrapper = new LoraLinear(linear, config.R, config.Scaling, config.LoraDropout, generator);
                wrapper.train(model.training);
                if (attention) layer.self_attn.ReplaceProjection(name, wrapper);
                else layer.mlp.ReplaceProjection(name, wrapper);
                layers.Add(($"model.layers.{i}.{(attention ? "self_attn" : "mlp")}.{name}", wrapper));
            }
        }
        return new LoraModel(model, config, layers);
    }

    static nn.Module<Tensor, Tensor> Projection(Attention a, string name) => name switch
    {
        "q_proj" => a.q_proj, "k_proj" => a.k_proj, "v_proj" => a.v_proj, "o_proj" => a.o_proj,
        _ => throw new ArgumentException(name),
    };

    static nn.Module<Tensor, Tensor> Projection(MLP m, string name) => name switch
    {
        "gate_proj" => m.gate_proj, "up_proj" => m.up_proj, "down_proj" => m.down_proj,
        _ => throw new ArgumentException(name),
    };

    public IEnumerable<Parameter> Parameters() => TrainableParameters.Select(p => p.Parameter);

    /// <summary>Whether adapters sharing an input run as one <see cref="FusedLora"/> function (the default), or each as its
    /// own module.</summary>
    public bool Fuse
    {
        get => Layers.All(l => l.Layer.Fuse);
        set { foreach (var (_, l) in Layers) l.Fuse = value; }
    }

    /// <summary>The generator every adapter's dropout draws from, on the model's device (see <see cref="SeedDropout"/>).</summary>
    public Generator? DropoutRandom { get; private set; }

    /// <summary>
    /// Draws every adapter's dropout masks from one generator seeded with <paramref name="seed"/> on the model's device,
    /// so that a run's masks follow its seed and a layer recomputed by activation checkpointing replays its masks.
    /// </summary>
    public void SeedDropout(ulong seed)
    {
        DropoutRandom?.Dispose();
        DropoutRandom = new Generator(seed, Model.Device);
        foreach (var (_, layer) in Layers) layer.DropoutGenerator = DropoutRandom;
        Model.model.LayerRandom = DropoutRandom;
    }

    /// <summary>Turns every adapter off until the returned scope is disposed (the base model, e.g. DPO's reference).
    /// Not while merged: the merged weights would still carry the adapters.</summary>
    public IDisposable DisableAdapters()
    {
        if (Layers.Any(l => l.Layer.Merged)) throw new InvalidOperationException("the adapters are merged into the base weights; Unmerge() before disabling them");
        var previous = Layers.Select(l => l.Layer.Enabled).ToArray();
        foreach (var (_, l) in Layers) l.Enabled = false;
        return new Restore(() => { for (int i = 0; i < Layers.Count; i++) Layers[i].Layer.Enabled = previous[i]; });
    }

    sealed class Restore(Action action) : IDisposable
    {
        bool done;
        public void Dispose() { if (!done) { done = true; action(); } }
    }

    /// <summary>Adds every adapter into its base weight (safe to call twice).</summary>
    public void Merge() { foreach (var (_, l) in Layers) l.Merge(); }

    public void Unmerge() { foreach (var (_, l) in Layers) l.Unmerge(); }

    /// <summary>
    /// The base model's weights under their Hugging Face names (<c>…q_proj.weight</c>, no <c>base_layer</c>, no LoRA
    /// tensors): after <see cref="Merge"/>, the merged model's state. The tensors are the live parameters.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> BaseStateDict() =>
        Model.named_parameters()
            .Where(p => !p.name.Contains(".lora_A.", StringComparison.Ordinal) && !p.name.Contains(".lora_B.", StringComparison.Ordinal))
            .Select(p => new KeyValuePair<string, Tensor>(p.name.Replace(".base_layer.", ".", StringComparison.Ordinal), p.parameter));

    /// <summary>PEFT in-memory name (<c>….lora_A.default.weight</c>) → on-disk name (<c>base_model.model.….lora_A.weight</c>).</summary>
    public static string FileName(string peftName) => "base_model.model." + peftName.Replace(".default.", ".", StringComparison.Ordinal);
}
