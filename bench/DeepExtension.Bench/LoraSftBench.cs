using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Jobs.Runs.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Bench;

/// <summary>
/// LoRA SFT side by side: this project's engine and transformers + PEFT (bench/peft_lora_sft.py), same model shapes
/// with random weights, same batch and sequence, LoRA r=16 alpha=32 dropout 0 on all seven projections, AdamW lr 1e-4,
/// clipping 1.0, labels = inputs; bf16 base weights on a GPU, float32 on the CPU. Every (shape, size, side) runs in a
/// fresh process, so peak memory is that configuration's own. Prints one Markdown table with the ratios.
/// </summary>
internal static class LoraSftBench
{
    public const string ChildCommand = "lora-sft-one";
    private const string PerTensorSide = "deepextension, per-tensor AdamW";
    private const string MaskSide = "deepextension, explicit attention mask";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The Hugging Face config.json fields of each shape (random weights; rope scaling left out: it costs nothing).</summary>
    public static readonly IReadOnlyDictionary<string, string> Shapes = new Dictionary<string, string>
    {
        ["qwen2.5-0.5b"] = """{"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": true, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "max_position_embeddings": 32768}""",
        ["llama-3.2-1b"] = """{"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": true, "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "max_position_embeddings": 131072}""",
        ["qwen2.5-1.5b"] = """{"model_type": "qwen2", "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": true, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "max_position_embeddings": 32768}""",
        // memory-estimate: shapes whose activations outweigh the process's own memory on a CPU.
        ["cpu-512"] = """{"model_type": "llama", "hidden_size": 512, "intermediate_size": 1408, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 32000, "tie_word_embeddings": true, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "max_position_embeddings": 4096}""",
        ["cpu-768"] = """{"model_type": "qwen2", "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 6, "num_attention_heads": 12, "num_key_value_heads": 4, "vocab_size": 50000, "tie_word_embeddings": false, "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "max_position_embeddings": 4096}""",
        // --small: a shape that trains in seconds on a CPU, to test the harness.
        ["tiny-llama"] = """{"model_type": "llama", "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "tie_word_embeddings": true, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "max_position_embeddings": 2048}""",
    };

    /// <summary>One side's numbers for one configuration (the child's last stdout line, also what the Python side prints).</summary>
    public sealed record Result(string Side, string Shape, int Batch, int Seq, string Device, string Dtype, double StepMs, double TokensPerSecond,
        double? PeakGpuGib, double? PeakRssGib, double FirstLoss, double LastLoss, string Versions, string? Error)
    {
        /// <summary>"8x512" or "8xmixed2048", as given on the command line.</summary>
        public string Size { get; init; } = $"{Batch}x{Seq}";
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var o = new BenchArgs(args.Where(a => a != "--small").ToArray());
        var small = args.Contains("--small");
        var shapes = o.Get("shapes", small ? "tiny-llama" : "qwen2.5-0.5b,llama-3.2-1b,qwen2.5-1.5b").Split(',');
        // "8x512": every example 512 tokens; "8xmixed2048": lengths drawn from MixedLengths, at most 2048.
        var sizes = o.Get("sizes", small ? "2x32,1x64,2xmixed64" : "8x512,4x2048,8xmixed2048").Split(',')
            .Select(s => s.Split('x', 2)).Select(p => (Batch: int.Parse(p[0], Inv), Mixed: p[1].StartsWith("mixed", StringComparison.Ordinal),
                Seq: int.Parse(p[1].Replace("mixed", "", StringComparison.Ordinal), Inv))).ToList();
        var checkpointing = o.Get("checkpointing", "off,layer").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var device = o.Get("device", small ? "cpu" : "auto");
        var warmup = o.Int("warmup", small ? 1 : 3);
        var steps = o.Int("steps", small ? 3 : 10);
        var python = o.Get("python", "python3");
        var script = o.Get("peft-script", Path.Combine(AppContext.BaseDirectory, "peft_lora_sft.py"));
        // The optimizer lever measured in the same run: these configurations once more with clipping and AdamW one tensor at a time.
        var perTensorCheck = o.Get("per-tensor-check", "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        // And with the padding mask passed to attention, as the SFT loss did before.
        var maskCheck = o.Get("mask-check", "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        foreach (var shape in shapes.Where(s => !Shapes.ContainsKey(s))) throw new ArgumentException($"unknown shape '{shape}'; known: {string.Join(", ", Shapes.Keys)}");

        Console.WriteLine($"# LoRA SFT: DeepExtension engine vs transformers + PEFT{(small ? " (--small: CPU harness check, not a GPU result)" : "")}");
        Console.WriteLine();
        foreach (var line in Machine.Describe()) Console.WriteLine($"- {line}");
        Console.WriteLine($"- LoRA r=16, alpha=32, dropout 0 on q/k/v/o/gate/up/down; AdamW lr 1e-4, clip 1.0; labels = inputs; random weights; {warmup} warm-up + {steps} timed steps; one process per shape, size and side");
        Console.WriteLine($"- gradient checkpointing: {string.Join(", ", checkpointing)} (engine: `gradient_checkpointing`; PEFT: `gradient_checkpointing_enable()`, non-reentrant, for every value but off)");
        if (sizes.Any(s => s.Mixed)) Console.WriteLine($"- mixed sizes: {MixedLengths.Description}; the same examples on both sides; tokens/s counts real tokens only");
        var peftMissing = PeftMissing(python, script);
        if (peftMissing is not null) Console.WriteLine($"- transformers + PEFT side skipped: {peftMissing}");

        var results = new List<Result>();
        foreach (var shape in shapes)
        {
            foreach (var (batch, mixed, seq) in sizes)
            {
                var size = mixed ? $"{batch}xmixed{seq}" : $"{batch}x{seq}";
                string? lengthsFile = null;
                if (mixed)
                {
                    lengthsFile = Path.Combine(Path.GetTempPath(), $"deepx-bench-lengths-{batch}x{seq}.json");
                    await File.WriteAllTextAsync(lengthsFile, JsonSerializer.Serialize(MixedLengths.Draw(warmup + steps, batch, seq, seed: 7)));
                }
                foreach (var mode in checkpointing)
                {
                    string[] common = ["--shape", shape, "--batch", batch.ToString(Inv), "--seq", seq.ToString(Inv), "--device", device,
                        "--warmup", warmup.ToString(Inv), "--steps", steps.ToString(Inv), .. lengthsFile is null ? Array.Empty<string>() : ["--lengths-file", lengthsFile]];
                    string Side(string side) => mode == "off" ? side : $"{side}, ckpt {mode}";
                    string[] engine = [ChildCommand, .. common, "--checkpointing", mode];
                    results.Add(await RunChildAsync(SelfCommand([.. engine, "--packing", mixed ? "true" : "false"]), Side(mixed ? "deepextension packed" : "deepextension"), shape, size, batch, seq));
                    if (mixed)
                        results.Add(await RunChildAsync(SelfCommand([.. engine, "--packing", "false"]), Side("deepextension padded"), shape, size, batch, seq));
                    if (mode == "off" && perTensorCheck.Contains($"{shape}:{size}"))
                        results.Add(await RunChildAsync(SelfCommand([.. engine, "--optimizer", "per-tensor"]), PerTensorSide, shape, size, batch, seq));
                    if (mode == "off" && maskCheck.Contains($"{shape}:{size}"))
                        results.Add(await RunChildAsync(SelfCommand([.. engine, "--sft-mask", "explicit"]), MaskSide, shape, size, batch, seq));
                    if (peftMissing is null)
                    {
                        string[] peft = [python, script, .. common, "--config", Shapes[shape], .. mode == "off" ? Array.Empty<string>() : ["--gradient-checkpointing"]];
                        results.Add(await RunChildAsync(peft, Side(mixed ? "peft padded" : "peft"), shape, size, batch, seq));
                        if (mixed) results.Add(await RunChildAsync([.. peft, "--padding-free"], Side("peft padding-free"), shape, size, batch, seq));
                    }
                }
            }
        }

        Console.WriteLine($"- versions: {string.Join("; ", results.Select(r => $"{r.Side}: {r.Versions}").Distinct())}");
        Console.WriteLine($"- load average at end: {Machine.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| shape | batch × seq | side | device | dtype | step ms | tokens/s | peak GPU GiB | peak RSS GiB | loss first → last | tokens/s ratio | memory ratio |");
        Console.WriteLine("| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
        foreach (var group in results.GroupBy(r => (r.Shape, r.Size)))
        {
            foreach (var r in group)
            {
                if (r.Error is not null)
                {
                    Console.WriteLine($"| {r.Shape} | {r.Size} | {r.Side} | — | — | failed: {r.Error.Replace('|', '/')} | | | | | | |");
                    continue;
                }
                // Each engine row against the PEFT rows of the same checkpointing (mixed sizes: both collators).
                var ratios = new List<(string Tokens, string Memory)>();
                if (r.Side.StartsWith("deepextension", StringComparison.Ordinal))
                {
                    var peers = group.Where(p => p.Side.StartsWith("peft", StringComparison.Ordinal) && p.Error is null && Checkpointing(p.Side) == Checkpointing(r.Side)).ToList();
                    foreach (var peft in peers)
                    {
                        var against = peers.Count > 1 ? $" vs {peft.Side.Split(',')[0]}" : "";
                        var memory = r.PeakGpuGib is { } a && peft.PeakGpuGib is { } b && b > 0 ? string.Create(Inv, $"{a / b:0.00}×")
                            : r.PeakRssGib is { } c && peft.PeakRssGib is { } d && d > 0 ? string.Create(Inv, $"{c / d:0.00}× (RSS)") : "";
                        ratios.Add((string.Create(Inv, $"{r.TokensPerSecond / peft.TokensPerSecond:0.00}×{against}"), memory == "" ? "" : memory + against));
                    }
                }
                Console.WriteLine(string.Create(Inv,
                    $"| {r.Shape} | {r.Size} | {r.Side} | {r.Device} | {r.Dtype} | {r.StepMs:0.0} | {r.TokensPerSecond:N0} | {Gib(r.PeakGpuGib)} | {Gib(r.PeakRssGib)} | {r.FirstLoss:0.000} → {r.LastLoss:0.000} | {string.Join("<br>", ratios.Select(x => x.Tokens))} | {string.Join("<br>", ratios.Select(x => x.Memory))} |"));
            }
        }
        Console.WriteLine();
        Console.WriteLine("Ratios are DeepExtension ÷ PEFT from this run (tokens/s: higher is better; memory: lower is better). Peak GPU memory is the device's " +
            "memory in use (NVML, sampled every 5 ms) minus what was in use before the process touched CUDA: the same measure for both sides.");
        if (o.Get("json-out", "") is { Length: > 0 } jsonOut) await File.WriteAllTextAsync(jsonOut, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        return results.Any(r => r.Error is not null) ? 1 : 0;
    }

    /// <summary>"layer" for a side named "…, ckpt layer"; "off" otherwise.</summary>
    private static string Checkpointing(string side) =>
        side.IndexOf(", ckpt ", StringComparison.Ordinal) is var at and >= 0 ? side[(at + ", ckpt ".Length)..] : "off";

    private static string Gib(double? value) => value is { } v ? v.ToString("0.00", Inv) : "—";

    /// <summary>Null when python3 with torch, transformers and peft is there (and the script); otherwise why not.</summary>
    private static string? PeftMissing(string python, string script)
    {
        if (!File.Exists(script)) return $"{script} not found";
        try
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("import torch, transformers, peft");
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120))) return "python3 did not import torch/transformers/peft within 120 s";
            return process.ExitCode == 0 ? null
                : $"{python} cannot import torch, transformers and peft ({error.Result.Trim().Split('\n').LastOrDefault()}); they exist on the GPU machine (bench/gpu/run.sh)";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"no {python} on PATH";
        }
    }

    private static string[] SelfCommand(string[] arguments) =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet"
            ? [Environment.ProcessPath!, typeof(LoraSftBench).Assembly.Location, .. arguments]
            : [Environment.ProcessPath!, .. arguments];

    private static readonly TimeSpan ChildTimeout = TimeSpan.FromMinutes(3);

    /// <summary>One engine configuration in a fresh process (1 warm-up + 2 steps), for its peak memory.</summary>
    public static Task<Result> MeasureAsync(string shape, int batch, int seq, string device, string checkpointing) =>
        RunChildAsync(SelfCommand([ChildCommand, "--shape", shape, "--batch", batch.ToString(Inv), "--seq", seq.ToString(Inv), "--device", device,
            "--warmup", "1", "--steps", "2", "--checkpointing", checkpointing]), "deepextension", shape, $"{batch}x{seq}", batch, seq);

    private static async Task<Result> RunChildAsync(string[] command, string side, string shape, string size, int batch, int seq)
    {
        Console.Error.WriteLine($"{side} {shape} {batch}x{seq}: {string.Join(' ', command.Take(3))} …");
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true };
        foreach (var argument in command.Skip(1)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        // A child that hangs (a GPU kernel that never returns, a stuck driver) must not take the other configurations with it.
        using var limit = new CancellationTokenSource(ChildTimeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        var last = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'));
        var result = last is null ? null : JsonSerializer.Deserialize<Result>(last, JsonSerializerOptions.Web);
        result ??= new Result(side, shape, batch, seq, "?", "?", 0, 0, null, null, 0, 0, "",
            limit.IsCancellationRequested ? $"killed after {ChildTimeout.TotalSeconds:0} s" : $"exit code {process.ExitCode}, no result line");
        result = result with { Side = side, Size = size };
        // Each result as it comes, so a bench stopped before its table still leaves its numbers in the log.
        Console.Error.WriteLine($"  result: {JsonSerializer.Serialize(result, JsonSerializerOptions.Web)}");
        return result;
    }

    /// <summary>The child: one shape and size on this engine; prints the <see cref="Result"/> as the last stdout line.</summary>
    public static int RunOne(string[] args)
    {
        var o = new BenchArgs(args);
        var shape = o.Get("shape", "tiny-llama");
        int batch = o.Int("batch", 2), seq = o.Int("seq", 32), warmup = o.Int("warmup", 1), steps = o.Int("steps", 3);
        var versions = "";
        try
        {
            var gpuBefore = NvidiaGpus.UsedBytes(0);
            TorchRuntime.EnsureInitialized();
            var device = TorchRuntime.DeviceFor(o.Get("device", "auto"));
            var dtype = device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
            versions = $"TorchSharp {typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]} on " +
                TorchRuntime.DescribeDevice(device);
            Console.Error.WriteLine($"  {versions}");

            var json = JsonNode.Parse(Shapes[shape])!.AsObject();
            json["architectures"] = new JsonArray(json["model_type"]!.GetValue<string>() == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
            var config = ModelConfig.Parse(json.ToJsonString());
            torch.manual_seed(1234);
            using var lm = ForCausalLM.Create(config, dtype, device);
            using (torch.no_grad())
            {
                foreach (var (name, p) in lm.named_parameters())
                {
                    if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1.0);
                    else p.normal_(0.0, 0.02);
                }
            }
            var lora = LoraModel.Inject(lm, new LoraConfig(16, 32, 0.0, LoraConfig.AllProjections), new Generator(42));
            using var optimizer = new AdamWOptimizer(lora.TrainableParameters, new AdamWOptions(1e-4, 0.9, 0.999, 1e-8, 0.0));
            lm.model.Checkpointing = TrainingParametersEngine.ParseCheckpointing(o.Get("checkpointing", "off"));
            var packing = o.Get("packing", "false") == "true";
            var lengths = o.Get("lengths-file", "") is { Length: > 0 } lengthsFile ? JsonSerializer.Deserialize<int[][]>(File.ReadAllText(lengthsFile))! : null;
            var perTensor = o.Get("optimizer", "flat") == "per-tensor";
            var explicitMask = o.Get("sft-mask", "none") == "explicit";
            var state = optimizer.StateTensors();
            long perTensorSteps = 0;

            var random = new Random(7);
            var vocab = (int)config.VocabSize;
            SupervisedExample Example(int length)
            {
                var ids = new int[length];
                for (var i = 0; i < length; i++) ids[i] = random.Next(3, vocab);
                return new SupervisedExample(ids, (int[])ids.Clone());
            }

            GC.Collect();
            MemorySampler.ResetHighWaterMark();
            var times = new List<double>();
            var losses = new List<double>();
            var stepTokens = new List<long>();
            long gpuPeak = 0;
            var gpuIndex = Math.Max(0, (int)device.index);
            using var gpuSampler = device.type == DeviceType.CUDA ? new Timer(_ =>
            {
                if (NvidiaGpus.UsedBytes(gpuIndex) is { } used && used > Interlocked.Read(ref gpuPeak)) Interlocked.Exchange(ref gpuPeak, used);
            }, null, 0, 5) : null;
            for (var step = 0; step < warmup + steps; step++)
            {
                var examples = Enumerable.Range(0, batch).Select(i => Example(lengths?[step][i] ?? seq)).ToList();
                long realTokens = examples.Sum(e => e.InputIds.Length);
                var clock = Stopwatch.StartNew();
                float loss;
                // The step as RunTrainer.TrainStep runs it with gradient accumulation 1; reading the loss is its one host synchronisation.
                using (NewDisposeScope())
                {
                    lm.train();
                    Tensor value;
                    if (packing)
                    {
                        using var packed = PackedBatch.Pack(examples, 0, device: device);
                        value = packed.Loss(lm);
                    }
                    else
                    {
                        using var sft = SftBatch.Collate(examples, 0, device);
                        // The previous loss passed the padding mask, which keeps SDPA off its flash kernels.
                        value = explicitMask ? lm.Loss(sft.InputIds, sft.Labels, sft.AttentionMask) : sft.Loss(lm);
                    }
                    value.backward();
                    if (perTensor)
                    {
                        // The optimizer before its flat buffers: a few kernels per tensor for clipping and for AdamW.
                        GradientClipping.ClipGradNorm(optimizer.Parameters, 1.0);
                        perTensorSteps++;
                        foreach (var (name, p) in lora.TrainableParameters)
                            AdamWOptimizer.Update(p, p.grad!, state["exp_avg." + name], state["exp_avg_sq." + name], perTensorSteps, 1e-4, 0.9, 0.999, 1e-8, 0.0);
                    }
                    else
                    {
                        optimizer.ClipGradNorm(1.0);
                        optimizer.Step();
                    }
                    optimizer.ZeroGrad();
                    loss = value.item<float>();
                }
                var ms = clock.Elapsed.TotalMilliseconds;
                Console.Error.WriteLine(string.Create(Inv, $"  step {step + 1}{(step < warmup ? " (warm-up)" : "")}: {ms:0.0} ms, loss {loss:0.0000}"));
                if (step < warmup) continue;
                times.Add(ms);
                losses.Add(loss);
                stepTokens.Add(realTokens);
            }
            gpuSampler?.Dispose();
            var median = times.Order().ElementAt(times.Count / 2);
            // Real (non-padding) tokens per second over the timed steps; with equal lengths, batch × seq at the median step's pace.
            var tokensPerSecond = lengths is null ? batch * seq / (median / 1000) : stepTokens.Sum() / (times.Sum() / 1000);
            const double gib = 1024.0 * 1024 * 1024;
            var result = new Result("deepextension", shape, batch, seq, device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, device.index)}" : "cpu",
                dtype == ScalarType.BFloat16 ? "bf16" : "fp32", median, tokensPerSecond,
                device.type == DeviceType.CUDA && Interlocked.Read(ref gpuPeak) is > 0 and var peak ? (peak - (gpuBefore ?? 0)) / gib : null, MemorySampler.HighWaterMarkBytes() / gib,
                losses[0], losses[^1], versions, null);
            Console.WriteLine(JsonSerializer.Serialize(result, JsonSerializerOptions.Web));
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or ExternalException or InvalidDataException)
        {
            Console.Error.WriteLine(e);
            Console.WriteLine(JsonSerializer.Serialize(new Result("deepextension", shape, batch, seq, "?", "?", 0, 0, null, null, 0, 0, versions, e.Message.Split('\n')[0]), JsonSerializerOptions.Web));
            return 1;
        }
    }
}
