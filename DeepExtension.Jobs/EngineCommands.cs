using System.Globalization;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs;

/// <summary>The engine's command-line commands (<c>generate</c>, <c>merge</c>); see <see cref="Program"/>.</summary>
internal static class EngineCommands
{
    /// <summary>--name value pairs; a flag may appear once. Throws <see cref="UsageException"/> on anything else.</summary>
    internal static Dictionary<string, string> ParseOptions(string[] args, IReadOnlyCollection<string> allowed)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string name, value;
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Contains('='))
            {
                name = a[2..a.IndexOf('=')];
                value = a[(a.IndexOf('=') + 1)..];
            }
            else if (a.StartsWith("--", StringComparison.Ordinal))
            {
                name = a[2..];
                if (i + 1 >= args.Length) throw new UsageException($"--{name} needs a value");
                value = args[++i];
            }
            else throw new UsageException($"unexpected argument '{a}'");
            if (!allowed.Contains(name)) throw new UsageException($"unknown option --{name}");
            if (!options.TryAdd(name, value)) throw new UsageException($"--{name} is given twice");
        }
        return options;
    }

    static string Required(Dictionary<string, string> o, string name) =>
        o.TryGetValue(name, out var v) && v.Length > 0 ? v : throw new UsageException($"--{name} is required");

    static T Parse<T>(Dictionary<string, string> o, string name, T fallback) where T : IParsable<T>
    {
        if (!o.TryGetValue(name, out var v)) return fallback;
        return T.TryParse(v, CultureInfo.InvariantCulture, out var r) ? r : throw new UsageException($"--{name}: '{v}' is not a valid value");
    }

    static readonly string[] GenerateOptions = ["model", "adapter", "prompt", "system", "max-new-tokens", "temperature", "top-p", "top-k", "seed", "dtype"];

    public static int Generate(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var o = ParseOptions(args, GenerateOptions);
        string modelDir = Required(o, "model");
        string prompt = Required(o, "prompt");
        var dtype = o.GetValueOrDefault("dtype", "float32") switch
        {
            "float32" => ScalarType.Float32,
            "bfloat16" => ScalarType.BFloat16,
            "float16" => ScalarType.Float16,
            var d => throw new UsageException($"--dtype '{d}' is not one of float32, bfloat16, float16"),
        };
        int maxNew = Parse(o, "max-new-tokens", 256);
        if (maxNew <= 0) throw new UsageException("--max-new-tokens must be positive");
        var defaults = GenerationDefaults(modelDir);
        double temperature = Parse(o, "temperature", defaults.Temperature);
        double topP = Parse(o, "top-p", defaults.TopP);
        int topK = Parse(o, "top-k", 0);
        if (temperature < 0) throw new UsageException("--temperature must be ≥ 0");
        if (topP is <= 0 or > 1) throw new UsageException("--top-p must be in (0, 1]");
        long? seed = o.ContainsKey("seed") ? Parse(o, "seed", 0L) : null;

        TorchRuntime.EnsureInitialized();
        var tokenizer = HfTokenizer.Load(modelDir);
        var template = ChatTemplate.Load(modelDir);
        var messages = new List<ChatMessage>();
        if (o.TryGetValue("system", out var system)) messages.Add(new ChatMessage("system", system));
        messages.Add(new ChatMessage("user", prompt));
        var promptIds = tokenizer.Encode(template.Render(messages, addGenerationPrompt: true)).Select(i => (long)i).ToArray();

        using var lm = ForCausalLM.FromPretrained(modelDir, dtype, TorchRuntime.DefaultDevice);
        if (o.TryGetValue("adapter", out var adapterDir)) PeftAdapter.Load(lm, adapterDir);
        lm.eval();

        var stop = StopTokenIds.Of(modelDir, tokenizer);

        var decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        TextGenerator.Generate(lm, promptIds, new GenerationOptions
        {
            MaxNewTokens = maxNew, Temperature = temperature, TopP = topP, TopK = topK, Seed = seed, StopTokenIds = stop,
        }, id =>
        {
            stdout.Write(decoder.Append((int)id));
            stdout.Flush();
        }, cancellationToken);
        stdout.Write(decoder.Flush());
        stdout.WriteLine();
        stdout.Flush();
        return Work.WorkerExit.Succeeded;
    }

    /// <summary>generation_config.json's sampling defaults; greedy when it does not ask to sample.</summary>
    static (double Temperature, double TopP) GenerationDefaults(string modelDir)
    {
        var tokens = SpecialTokens.Read(modelDir);
        return tokens.DoSample ? (tokens.Temperature ?? 1.0, tokens.TopP ?? 1.0) : (0.0, 1.0);
    }

    /// <summary><c>merge --model --adapter --out</c>: the command-line front of <see cref="Saving.ModelMerge"/>.</summary>
    public static int Merge(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var o = ParseOptions(args, ["model", "adapter", "out", "max-shard-bytes"]);
        string modelDir = Required(o, "model"), adapterDir = Required(o, "adapter"), outDir = Required(o, "out");
        long shard = Parse(o, "max-shard-bytes", MergedModelWriter.DefaultMaxShardBytes);
        var files = Saving.ModelMerge.Run(modelDir, adapterDir, outDir, shard);
        stdout.WriteLine($"merged {adapterDir} into {modelDir}: wrote {files.Count} files to {Path.GetFullPath(outDir)}");
        return Work.WorkerExit.Succeeded;
    }
}

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
