using System.Globalization;
using System.Text.Json.Nodes;
using DeepExtension.Core.Training;

namespace DeepExtension.Bench;

/// <summary>
/// The console's memory estimate (<see cref="MemoryEstimate"/>) against measured peaks: each configuration trains a
/// few steps in a fresh <c>lora-sft-one</c> process, whose peak (GPU memory on a GPU, resident memory on the CPU) is set
/// beside the estimate for the same shape, batch, tokens, rank and checkpointing. Prints the error per configuration.
/// </summary>
internal static class MemoryEstimateBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        var o = new BenchArgs(args);
        var device = o.Get("device", "cpu");
        var shapes = o.Get("shapes", "cpu-512,cpu-768").Split(',');
        var sizes = o.Get("sizes", "4x256,2x512").Split(',');
        var modes = o.Get("checkpointing", "off,layer").Split(',');
        var gpu = device.StartsWith("cuda", StringComparison.Ordinal);

        Console.WriteLine($"# Memory estimate against measured peaks ({device})");
        Console.WriteLine();
        foreach (var line in Machine.Describe()) Console.WriteLine($"- {line}");
        Console.WriteLine($"- measured: {(gpu ? "peak GPU memory in use (NVML) above what was in use before" : "peak resident memory of the training process (VmHWM), the runtime included")}; LoRA r=16 on all seven projections, dropout 0, 1 warm-up + 2 steps");
        Console.WriteLine();
        Console.WriteLine("| shape | batch × seq | checkpointing | estimate GiB | measured GiB | error |");
        Console.WriteLine("| --- | --- | --- | ---: | ---: | ---: |");
        var worst = 0.0;
        foreach (var shapeName in shapes)
        {
            var shape = ShapeOf(shapeName);
            foreach (var size in sizes)
            {
                var parts = size.Split('x');
                int batch = int.Parse(parts[0], Inv), seq = int.Parse(parts[1], Inv);
                foreach (var mode in modes)
                {
                    var parameters = new TrainingParameters
                    {
                        BatchSize = batch, MaxTokens = seq, LoraR = 16, TargetModules = ["all-linear"], GradientCheckpointing = mode,
                    };
                    var estimate = MemoryEstimate.For(shape, parameters, gpu).Total / (1024.0 * 1024 * 1024);
                    var result = await LoraSftBench.MeasureAsync(shapeName, batch, seq, device, mode);
                    var measured = gpu ? result.PeakGpuGib : result.PeakRssGib;
                    if (result.Error is not null || measured is not { } m)
                    {
                        Console.WriteLine($"| {shapeName} | {size} | {mode} | {estimate:0.00} | failed: {result.Error} | |");
                        continue;
                    }
                    var error = (estimate - m) / m;
                    worst = Math.Max(worst, Math.Abs(error));
                    Console.WriteLine(string.Create(Inv, $"| {shapeName} | {batch} × {seq} | {mode} | {estimate:0.00} | {m:0.00} | {error:+0.0%;-0.0%} |"));
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine(string.Create(Inv, $"Largest error: {worst:0.0%} (estimate − measured, of measured)."));
        return 0;
    }

    /// <summary>The bench shape as the console sees a model: its card's fields and parameter count.</summary>
    public static ModelShape ShapeOf(string name)
    {
        var c = JsonNode.Parse(LoraSftBench.Shapes[name])!.AsObject();
        int h = c["hidden_size"]!.GetValue<int>(), i = c["intermediate_size"]!.GetValue<int>(), layers = c["num_hidden_layers"]!.GetValue<int>();
        int heads = c["num_attention_heads"]!.GetValue<int>(), kv = c["num_key_value_heads"]!.GetValue<int>(), vocab = c["vocab_size"]!.GetValue<int>();
        int d = h / heads;
        bool tied = c["tie_word_embeddings"]!.GetValue<bool>();
        bool qkvBias = c["model_type"]!.GetValue<string>() == "qwen2";
        long perLayer = (long)h * heads * d * 2 + 2L * h * kv * d + 3L * h * i + 2L * h + (qkvBias ? heads * d + 2L * kv * d : 0);
        long parameters = (long)vocab * h * (tied ? 1 : 2) + layers * perLayer + h;
        return new ModelShape(parameters, h, i, layers, heads, kv, d, vocab);
    }
}
