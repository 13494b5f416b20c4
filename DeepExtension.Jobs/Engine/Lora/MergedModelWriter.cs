using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Lora;

/// <summary>
/// Merges a PEFT LoRA adapter into its base model and writes a complete Hugging Face model folder (what
/// <c>merge_and_unload()</c> + <c>save_pretrained</c> give), in the transformers 4 layout Ollama's importer reads:
/// <list type="bullet">
/// <item>weights: every base tensor in its own dtype; each adapted projection as
///   <c>round_to_dtype(W (float32) + scaling · B·A)</c>; one <c>model.safetensors</c>, or shards of at most
///   <c>maxShardBytes</c> plus <c>model.safetensors.index.json</c>. Tensors are processed one shard at a time, so
///   memory holds at most one shard (plus the adapter), never the whole model.</item>
/// <item><c>config.json</c>: the base's, with <c>rope_parameters</c> moved to a top-level <c>rope_theta</c> (and
///   <c>rope_scaling</c> when the rope type is not default), and <c>torch_dtype</c> set.</item>
/// <item>tokenizer files, <c>tokenizer_config.json</c>, <c>chat_template.jinja</c>, <c>generation_config.json</c> copied.</item>
/// </list>
/// </summary>
public static partial class MergedModelWriter
{
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>Files copied from the base folder when present.</summary>
    public static readonly IReadOnlyList<string> CopiedFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json", "generation_config.json",
        "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
    ];

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.weight$")]
    private static partial Regex ProjectionWeight();

    /// <summary>Returns the files written into <paramref name="outputDirectory"/>.</summary>
    /// <param name="progress">Called with the fraction (0..1] of weight bytes merged, after each tensor.</param>
    public static IReadOnlyList<string> Write(string baseModelDirectory, string adapterDirectory, string outputDirectory,
        long maxShardBytes = DefaultMaxShardBytes, Action<double>? progress = null)
    {
        TorchRuntime.EnsureInitialized();
        if (Path.GetFullPath(baseModelDirectory) == Path.GetFullPath(outputDirectory))
            throw new ArgumentException("the output folder must differ from the base model folder");
        var config = PeftAdapter.ReadConfig(adapterDirectory);
        using var checkpoint = SafetensorsCheckpoint.Open(baseModelDirectory);
        using var adapter = SafetensorsCheckpoint.Open(adapterDirectory, PeftAdapter.WeightsBaseName);

        // Which base tensor each adapter pair belongs to; every adapter tensor must be used.
        var adapted = new Dictionary<string, (string A, string B)>(StringComparer.Ordinal);
        var targets = config.ResolvedTargets().ToHashSet();
        foreach (var name in checkpoint.Names)
        {
            var m = ProjectionWeight().Match(name);
            if (!m.Success || !targets.Contains(m.Groups[3].Value)) continue;
            string module = name[..^".weight".Length];
            string a = $"base_model.model.{module}.lora_A.weight", b = $"base_model.model.{module}.lora_B.weight";
            if (!adapter.Contains(a) || !adapter.Contains(b)) throw new InvalidDataException($"the adapter lacks {a} or {b}");
            var shape = checkpoint.Info(name).Shape;
            var ia = adapter.Info(a).Shape; var ib = adapter.Info(b).Shape;
            if (ia.Length != 2 || ib.Length != 2 || ia[0] != config.R || ib[1] != config.R || ia[1] != shape[1] || ib[0] != shape[0])
                throw new InvalidDataException($"{module}: adapter shapes A [{string.Join(",", ia)}], B [{string.Join(",", ib)}] do not fit the base weight [{string.Join(",", shape)}] with r={config.R}");
            adapted[name] = (a, b);
        }
        var used = adapted.Values.SelectMany(p => new[] { p.A, p.B }).ToHashSet(StringComparer.Ordinal);
        var unused = adapter.Names.Where(n => !used.Contains(n)).ToList();
        if (unused.Count > 0)
            throw new InvalidDataException($"the adapter has {unused.Count} tensor(s) with no matching base weight: {string.Join(", ", unused.Take(5))}");

        Directory.CreateDirectory(outputDirectory);
        foreach (var stale in Directory.EnumerateFiles(outputDirectory, "model*.safetensors*")) File.Delete(stale);

        // Shard plan from the headers (a merged tensor keeps its base dtype and shape).
        var shards = new List<List<string>> { new() };
        long current = 0, total = 0;
        foreach (var name in checkpoint.Names)
        {
            var info = checkpoint.Info(name);
            long bytes = info.End - info.Begin;
            if (current > 0 && current + bytes > maxShardBytes) { shards.Add([]); current = 0; }
            shards[^1].Add(name);
            current += bytes;
            total += bytes;
        }

        var written = new List<string>();
        long merged = 0;
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string file = shards.Count == 1 ? "model.safetensors" : $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var tensors = new List<KeyValuePair<string, Tensor>>();
            foreach (var name in shards[i])
            {
                var w = checkpoint.Load(name);
                if (adapted.TryGetValue(name, out var ab))
                {
                    var a = adapter.Load(ab.A, ScalarType.Float32);
                    var b = adapter.Load(ab.B, ScalarType.Float32);
                    w = (w.to(ScalarType.Float32) + b.matmul(a).mul_(config.Scaling)).to(w.dtype);
                }
                tensors.Add(KeyValuePair.Create(name, w));
                weightMap[name] = file;
                var info = checkpoint.Info(name);
                merged += info.End - info.Begin;
                progress?.Invoke(total == 0 ? 1 : (double)merged / total);
            }
            SafetensorsWriter.Save(Path.Combine(outputDirectory, file), tensors);
            written.Add(Path.Combine(outputDirectory, file));
        }
        if (shards.Count > 1)
        {
            string index = Path.Combine(outputDirectory, "model.safetensors.index.json");
            File.WriteAllText(index, JsonSerializer.Serialize(new { metadata = new { total_size = total }, weight_map = weightMap },
                new JsonSerializerOptions { WriteIndented = true }) + "\n");
            written.Add(index);
        }

        string configOut = Path.Combine(outputDirectory, "config.json");
        File.WriteAllText(configOut, Transformers4Config(File.ReadAllText(Path.Combine(baseModelDirectory, "config.json")), DtypeName(checkpoint)));
        written.Add(configOut);
        foreach (var f in CopiedFiles)
        {
            string source = Path.Combine(baseModelDirectory, f);
            if (!File.Exists(source)) continue;
            File.Copy(source, Path.Combine(outputDirectory, f), overwrite: true);
            written.Add(Path.Combine(outputDirectory, f));
        }
        return written;
    }

    static string? DtypeName(SafetensorsCheckpoint checkpoint)
    {
        var dtypes = checkpoint.Names.Select(n => checkpoint.Info(n).Dtype).Distinct().ToList();
        foreach (var (st, name) in new[] { ("BF16", "bfloat16"), ("F16", "float16"), ("F32", "float32") })
            if (dtypes.Contains(st)) return name;
        return null;
    }

    /// <summary>
    /// config.json in the transformers 4 layout: <c>rope_parameters: {rope_theta, rope_type, …}</c> becomes a top-level
    /// <c>rope_theta</c> plus, for a non-default rope type, <c>rope_scaling: {rope_type, …}</c>; <c>rope_parameters</c>
    /// is dropped. <c>torch_dtype</c> (transformers 4's key) is set beside <c>dtype</c>.
    /// </summary>
    public static string Transformers4Config(string configJson, string? dtype = null)
    {
        var root = JsonNode.Parse(configJson)!.AsObject();
        if (root["rope_parameters"] is JsonObject rope)
        {
            root.Remove("rope_parameters");
            var theta = rope["rope_theta"];
            if (theta is not null) root["rope_theta"] = theta.DeepClone();
            var type = rope["rope_type"]?.GetValue<string>() ?? "default";
            if (type != "default")
            {
                var scaling = new JsonObject();
                foreach (var (k, v) in rope) if (k != "rope_theta") scaling[k] = v?.DeepClone();
                root["rope_scaling"] = scaling;
            }
            else if (!root.ContainsKey("rope_scaling")) root["rope_scaling"] = null;
        }
        if (!root.ContainsKey("rope_theta")) root["rope_theta"] = 10000.0;
        dtype ??= root["dtype"]?.GetValue<string>() ?? root["torch_dtype"]?.GetValue<string>();
        if (dtype is not null)
        {
            root["torch_dtype"] = dtype;
            if (root.ContainsKey("dtype")) root["dtype"] = dtype;
        }
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
