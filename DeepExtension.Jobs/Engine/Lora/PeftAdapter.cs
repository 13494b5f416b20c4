using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// PEFT's on-disk LoRA adapter: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c> with tensors named
/// <c>base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight</c> (float32). What PEFT 0.21 writes, and
/// what it, Ollama's importer and this engine read back.
/// </summary>
public static class PeftAdapter
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsBaseName = "adapter_model";
    public const string WeightsFile = WeightsBaseName + ".safetensors";
    public const string PeftVersion = "0.21.0";

    /// <summary>Reads and checks <c>adapter_config.json</c>; throws <see cref="NotSupportedException"/> for anything
    /// this engine cannot honour (another peft_type, DoRA, biases, per-module patterns, …).</summary>
    public static LoraConfig ReadConfig(string adapterDirectory)
    {
        string path = Path.Combine(adapterDirectory, ConfigFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{ConfigFile} is not in {adapterDirectory}", path);
        var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path} is not a JSON object");
        return ParseConfig(root, path);
    }

    public static LoraConfig ParseConfig(JsonObject root, string what = ConfigFile)
    {
        void Refuse(string why) => throw new NotSupportedException($"{what}: {why}; this adapter cannot be used");
        string? Str(string key) => root[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        bool IsSet(string key) => root[key] switch
        {
            null => false,
            JsonObject o => o.Count > 0,
            JsonArray a => a.Count > 0,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => true,
        };

        var peftType = Str("peft_type");
        if (peftType != "LORA") Refuse($"peft_type is '{peftType ?? "missing"}', only LORA is supported");
        var taskType = Str("task_type");
        if (taskType is not (null or "CAUSAL_LM")) Refuse($"task_type is '{taskType}', only CAUSAL_LM is supported");
        var bias = Str("bias") ?? "none";
        if (bias != "none") Refuse($"bias '{bias}' is not supported (only \"none\")");
        foreach (var flag in new[] { "use_dora", "lora_bias", "fan_in_fan_out", "use_qalora", "use_bdlora" })
            if (IsSet(flag)) Refuse($"{flag} is not supported");
        foreach (var key in new[] { "rank_pattern", "alpha_pattern", "layers_to_transform", "layers_pattern", "modules_to_save",
                                    "target_parameters", "trainable_token_indices", "layer_replication", "exclude_modules", "alora_invocation_tokens" })
            if (IsSet(key)) Refuse($"{key} is not supported");

        int r = 8; // PEFT's default
        if (root["r"] is JsonNode rNode)
        {
            if (rNode is not JsonValue rv || !rv.TryGetValue<double>(out var rd) || rd != Math.Floor(rd) || rd is < 1 or > int.MaxValue)
                Refuse($"r {rNode.ToJsonString()} is not a positive integer");
            else r = (int)rd;
        }
        double alphaValue = root["lora_alpha"] is JsonValue av && av.TryGetValue<double>(out var ad) ? ad : 8;
        if (alphaValue != Math.Floor(alphaValue)) Refuse($"lora_alpha {alphaValue} is not an integer");
        double dropout = root["lora_dropout"] is JsonValue dv && dv.TryGetValue<double>(out var dd) ? dd : 0;
        bool rs = root["use_rslora"] is JsonValue sv && sv.TryGetValue<bool>(out var sb) && sb;

        List<string> targets = root["target_modules"] switch
        {
            JsonArray arr => arr.Select(n => n!.GetValue<string>()).ToList(),
            JsonValue v when v.TryGetValue<string>(out var s) && s == PeftTargetModules.AllLinear => [PeftTargetModules.AllLinear],
            JsonValue v when v.TryGetValue<string>(out var s) => throw new NotSupportedException($"{what}: target_modules as a regular expression ('{s}') is not supported"),
            _ => throw new NotSupportedException($"{what}: target_modules is missing"),
        };
        var config = new LoraConfig(r, (int)alphaValue, dropout, targets, rs);
        try { config.Validate(); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException) { throw new NotSupportedException($"{what}: {e.Message}", e); }
        return config;
    }

    /// <summary><c>adapter_config.json</c> as PEFT 0.21 writes it (sorted keys, two-space indent).</summary>
    public static JsonObject ConfigJson(LoraConfig config, string baseModelNameOrPath)
    {
        var o = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["alora_invocation_tokens"] = null,
            ["alpha_pattern"] = new JsonObject(),
            ["arrow_config"] = null,
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["bias"] = "none",
            ["corda_config"] = null,
            ["ensure_weight_tying"] = false,
            ["eva_config"] = null,
            ["exclude_modules"] = null,
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["kasa_config"] = null,
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = config.LoraAlpha,
            ["lora_bias"] = false,
            ["lora_dropout"] = config.LoraDropout,
            ["lora_ga_config"] = null,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = null,
            ["monteclora_config"] = null,
            ["peft_type"] = "LORA",
            ["peft_version"] = PeftVersion,
            ["qalora_group_size"] = 16,
            ["r"] = config.R,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = new JsonArray(config.ResolvedTargets().Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["target_parameters"] = null,
            ["task_type"] = "CAUSAL_LM",
            ["trainable_token_indices"] = null,
            ["use_bdlora"] = null,
            ["use_dora"] = false,
            ["use_qalora"] = false,
            ["use_rslora"] = config.UseRsLora,
            ["velora_config"] = null,
        };
        var json = new JsonObject();
        foreach (var (k, v) in o) json[k] = v;
        return json;
    }

    /// <summary>Writes the adapter (config + float32 weights under PEFT's file names) to <paramref name="directory"/>.</summary>
    public static void Save(LoraModel lora, string directory, string baseModelNameOrPath)
    {
        Directory.CreateDirectory(directory);
        var tensors = lora.TrainableParameters.ToDictionary(p => LoraModel.FileName(p.Name), p => (Tensor)p.Parameter, StringComparer.Ordinal);
        SafetensorsWriter.Save(Path.Combine(directory, WeightsFile), tensors);
        var text = ConfigJson(lora.Config, baseModelNameOrPath).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(directory, ConfigFile), text);
    }

    /// <summary>Reads the adapter's config, wraps <paramref name="model"/> with it and loads its weights.</summary>
    public static LoraModel Load(ForCausalLM model, string adapterDirectory)
    {
        var config = ReadConfig(adapterDirectory);
        var lora = LoraModel.Inject(model, config);
        LoadWeights(lora, adapterDirectory);
        return lora;
    }

    /// <summary>Copies <c>adapter_model.safetensors</c> into <paramref name="lora"/>'s parameters; every tensor must be
    /// present with the expected shape, and no other tensor may be in the file.</summary>
    public static void LoadWeights(LoraModel lora, string adapterDirectory)
    {
        using var checkpoint = SafetensorsCheckpoint.Open(adapterDirectory, WeightsBaseName);
        var expected = lora.TrainableParameters.ToDictionary(p => LoraModel.FileName(p.Name), p => p.Parameter, StringComparer.Ordinal);
        var unexpected = checkpoint.Names.Where(n => !expected.ContainsKey(n)).ToList();
        if (unexpected.Count > 0)
            throw new NotSupportedException($"{WeightsFile} has {unexpected.Count} tensor(s) this adapter configuration does not explain: {string.Join(", ", unexpected.Take(5))}");
        var missing = expected.Keys.Where(n => !checkpoint.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{WeightsFile} lacks {missing.Count} tensor(s): {string.Join(", ", missing.Take(5))}");
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in expected)
        {
            var info = checkpoint.Info(name);
            if (!info.Shape.SequenceEqual(p.shape))
                throw new InvalidDataException($"{name}: adapter shape [{string.Join(",", info.Shape)}] does not fit the base model (expected [{string.Join(",", p.shape)}])");
            using var t = checkpoint.Load(name, p.dtype, p.device);
            p.copy_(t);
        }
    }
}
