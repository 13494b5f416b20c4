using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Bench;

/// <summary>
/// Training step throughput on the CPU: one LoRA SFT optimizer step (loss, backward, gradient clipping, AdamW,
/// zero_grad, reading loss and gradient norm) exactly as RunTrainer.TrainStep with SftObjective does it with gradient accumulation 1,
/// on a Llama-shaped model with random weights, float32 (the dtype RunTrainer uses on the CPU).
/// </summary>
internal static class TrainStepBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var o = new BenchArgs(args);
        long hidden = o.Long("hidden", 512), intermediate = o.Long("intermediate", 1408), vocab = o.Long("vocab", 32000);
        int layers = o.Int("layers", 4), heads = o.Int("heads", 8), kvHeads = o.Int("kv-heads", heads);
        int seq = o.Int("seq", 256), batch = o.Int("batch", 4), rank = o.Int("rank", 16);
        int warmup = o.Int("warmup", 3), steps = o.Int("steps", 10);
        var targets = o.Get("targets", "attention") == "all" ? LoraConfig.AllProjections : LoraConfig.AttentionProjections;

        TorchRuntime.EnsureInitialized();
        if (o.Int("threads", 0) is > 0 and var threads) torch.set_num_threads(threads);
        var torchSharpVersion = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? typeof(torch).Assembly.GetName().Version?.ToString();
        Console.WriteLine("# LoRA SFT training step benchmark (CPU)");
        Console.WriteLine();
        foreach (var line in Machine.Describe()) Console.WriteLine($"- {line}");
        Console.WriteLine($"- TorchSharp {torchSharpVersion}, libtorch {torch.__version__}, torch threads {torch.get_num_threads()}, CUDA available: {torch.cuda.is_available()}");

        var config = ModelConfig.Parse($$"""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": {{hidden}}, "intermediate_size": {{intermediate}},
             "num_hidden_layers": {{layers}}, "num_attention_heads": {{heads}}, "num_key_value_heads": {{kvHeads}}, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "vocab_size": {{vocab}}, "tie_word_embeddings": false, "max_position_embeddings": {{Math.Max(2048, seq)}}}
            """);
        var rssStart = MemorySampler.CurrentRssBytes();
        torch.manual_seed(1234);
        using var lm = ForCausalLM.Create(config, ScalarType.Float32, CPU);
        using (torch.no_grad())
        {
            foreach (var (name, p) in lm.named_parameters())
            {
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1.0);
                else p.normal_(0.0, 0.02);
            }
        }
        var lora = LoraModel.Inject(lm, new LoraConfig(rank, 2 * rank, 0.0, targets), new Generator(42));
        var adamw = new AdamWOptions(2e-4, 0.9, 0.999, 1e-8, 0.0);
        using var optimizer = new AdamWOptimizer(lora.TrainableParameters, adamw);
        long baseParams = lm.parameters().Where(p => !p.requires_grad).Sum(p => p.numel());
        long trainable = lora.TrainableParameters.Sum(p => p.Parameter.numel());
        var rssModel = MemorySampler.CurrentRssBytes();

        // Approximate matmul FLOPs: forward = 2·tokens·(linear weights incl. lm_head) + attention 4·B·T²·H·layers (full
        // T×T, no causal saving); the frozen base needs input gradients only (≈ one more forward), LoRA's are tiny.
        long tokens = (long)batch * seq;
        double linearWeights = layers * (4.0 * hidden * hidden * kvHeads / heads / 2 + 2.0 * hidden * hidden + 3.0 * hidden * intermediate) + vocab * hidden;
        double forwardFlops = 2 * tokens * linearWeights + 4.0 * batch * seq * (double)seq * hidden * layers;
        double stepFlops = 2 * forwardFlops;

        Console.WriteLine($"- model: Llama shape, hidden {hidden}, {layers} layers, {heads} heads ({kvHeads} KV), intermediate {intermediate}, vocab {vocab}, untied; " +
            $"{baseParams / 1e6:0.0} M frozen float32 parameters, random N(0, 0.02) weights");
        Console.WriteLine($"- LoRA r={rank}, alpha={2 * rank}, dropout 0 on {string.Join("/", targets)}: {trainable:N0} trainable parameters; AdamW lr 2e-4, clip 1.0");
        Console.WriteLine($"- batch {batch} × seq {seq} = {tokens} tokens per step, every token labelled, no padding; {warmup} warm-up + {steps} timed steps");
        Console.WriteLine($"- approx. matmul work per step: {stepFlops / 1e9:0} GFLOP (2 × forward; see TrainStepBench.cs)");

        var random = new Random(7);
        SupervisedExample Example()
        {
            var ids = new int[seq];
            for (var i = 0; i < seq; i++) ids[i] = random.Next(3, (int)vocab);
            return new SupervisedExample(ids, (int[])ids.Clone());
        }

        GC.Collect();
        MemorySampler.ResetHighWaterMark();
        var totals = new List<double>();
        var forwards = new List<double>();
        var backwards = new List<double>();
        var updates = new List<double>();
        var losses = new List<float>();
        using (var sampler = new MemorySampler())
        {
            for (var step = 0; step < warmup + steps; step++)
            {
                var examples = Enumerable.Range(0, batch).Select(_ => Example()).ToList();
                var clock = Stopwatch.StartNew();
                double f, b, c, a, u;
                float lossValue;
                using (var scope = NewDisposeScope())
                {
                    lm.train();
                    using var sft = SftBatch.Collate(examples, 0, CPU);
                    var loss = lm.Loss(sft.InputIds, sft.Labels, sft.AttentionMask);
                    f = clock.Elapsed.TotalMilliseconds;
                    (loss * 1.0).backward();
                    b = clock.Elapsed.TotalMilliseconds;
                    var gradNorm = optimizer.ClipGradNorm(1.0);
                    c = clock.Elapsed.TotalMilliseconds;
                    optimizer.Step();
                    a = clock.Elapsed.TotalMilliseconds;
                    optimizer.ZeroGrad();
                    lossValue = loss.item<float>();
                    _ = gradNorm.item<float>();
                    u = clock.Elapsed.TotalMilliseconds;
                }
                var total = clock.Elapsed.TotalMilliseconds;
                Console.Error.WriteLine(string.Create(Inv, $"  step {step + 1}{(step < warmup ? " (warm-up)" : "")}: {total:0} ms (loss {f:0}, backward {b - f:0}, clip {c - b:0}, AdamW {a - c:0}, zero_grad+item {u - a:0}), loss {lossValue:0.0000}"));
                if (step < warmup) continue;
                totals.Add(total);
                forwards.Add(f);
                backwards.Add(b - f);
                updates.Add(u - b);
                losses.Add(lossValue);
            }
        }
        var hwm = MemorySampler.HighWaterMarkBytes() ?? 0;
        var med = Median(totals);
        Console.WriteLine($"- load average at end: {Machine.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| step ms (median) | min | max | tokens/s (median step) | ≈ GFLOP/s | loss part ms | backward ms | clip + AdamW ms | loss first → last timed | RSS before model MiB | RSS after model MiB | peak RSS during steps (VmHWM) MiB |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(Inv,
            $"| {med:0} | {totals.Min():0} | {totals.Max():0} | {tokens / (med / 1000):0} | {stepFlops / 1e9 / (med / 1000):0.0} | {Median(forwards):0} | {Median(backwards):0} | {Median(updates):0.0} | " +
            $"{losses[0]:0.0000} → {losses[^1]:0.0000} | {MemorySampler.Mib(rssStart)} | {MemorySampler.Mib(rssModel)} | {MemorySampler.Mib(hwm)} |"));
        return 0;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
