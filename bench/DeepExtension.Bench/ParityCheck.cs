using System.Globalization;
using System.Text.Json;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Jobs.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Bench;

/// <summary>
/// The engine against the fp32 outputs transformers and PEFT gave (a reference-models directory: the tests' layout), on a
/// chosen device and dtype: base logits and loss, LoRA logits, loss and gradients, and three AdamW steps. The unit tests
/// do this on the CPU in fp32 with 1e-4; this program runs the same comparisons where the tests cannot (a GPU machine
/// without the .NET SDK), in fp32 (same tolerance as the tests) and bf16 (tolerances below). Exit code 1 when any fails.
/// </summary>
/// <remarks>
/// bf16 tolerances: bf16 keeps 8 significant bits, so rounding each base weight changes it by up to 2^-9 ≈ 0.2% of
/// its value; matmuls accumulate in fp32 but their inputs are rounded again after every layer. Over two decoder layers
/// and the lm_head that gives errors of about 1% of a logit's scale, so: logits within 3% of the largest reference
/// |logit|, the loss (a mean over tokens, where errors average out) within 1%, each LoRA gradient (the adapters stay
/// fp32, their inputs are bf16 activations) within 5% of its norm, and each AdamW step's loss within 1%.
/// </remarks>
public static class ParityCheck
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var o = new BenchArgs(args);
        var directory = o.Get("references", Path.Combine("DeepExtension.Tests", "TestData", "reference-models"));
        TorchRuntime.EnsureInitialized();
        var device = TorchRuntime.DeviceFor(o.Get("device", "auto"));
        var dtypes = o.Get("dtypes", device.type == DeviceType.CUDA ? "fp32,bf16" : "fp32").Split(',');
        Console.WriteLine($"# Parity with transformers + PEFT on {TorchRuntime.DescribeDevice(device)}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine();
        Console.WriteLine("| model | dtype | check | measured | tolerance | |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        int failures = 0;
        var models = Directory.GetDirectories(directory).Where(d => File.Exists(Path.Combine(d, "reference.json"))).Order(StringComparer.Ordinal);
        foreach (var model in models)
        foreach (var dtypeName in dtypes)
        {
            var dtype = dtypeName == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
            bool bf16 = dtype == ScalarType.BFloat16;
            void Report(string check, double measured, double tolerance)
            {
                bool ok = measured <= tolerance;
                if (!ok) failures++;
                Console.WriteLine(string.Create(Inv, $"| {Path.GetFileName(model)} | {dtypeName} | {check} | {measured:G3} | {tolerance:G3} | {(ok ? "ok" : "**FAIL**")} |"));
            }
            try
            {
                Check(model, device, dtype, bf16, Report);
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"| {Path.GetFileName(model)} | {dtypeName} | (threw) | {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")} | | **FAIL** |");
            }
        }
        Console.WriteLine();
        Console.WriteLine(failures == 0 ? "All checks passed." : $"{failures} check(s) failed.");
        return failures == 0 ? 0 : 1;
    }

    static void Check(string model, Device device, ScalarType dtype, bool bf16, Action<string, double, double> report)
    {
        using var scope = torch.NewDisposeScope();
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "reference.json"))).RootElement;
        using var tensors = SafetensorsFile.Open(Path.Combine(model, "reference.safetensors"));
        Tensor Load(string name) => tensors.Load(name).to(device);
        var ids = Load("input_ids");
        var mask = Load("attention_mask");
        var labels = Load("labels");
        static double RelativeLoss(double value, double expected) => Math.Abs(value - expected) / Math.Abs(expected);
        double MaxDiffOverScale(Tensor expected, Tensor actual) =>
            (expected - actual.to(ScalarType.Float32)).abs().max().cpu().item<float>() / (bf16 ? expected.abs().max().cpu().item<float>() : 1.0);
        double logitTolerance = bf16 ? 0.03 : 1e-4;
        double lossTolerance = bf16 ? 0.01 : 1e-4;
        string logitCheck = bf16 ? "max abs Δlogit ÷ max abs logit" : "max abs Δlogit";
        string lossCheck = bf16 ? "abs Δloss ÷ loss" : "abs Δloss";

        using (var lm = ForCausalLM.FromPretrained(model, dtype, device))
        {
            using (torch.no_grad())
                report("base " + logitCheck, MaxDiffOverScale(Load("logits"), lm.forward(ids, mask)), logitTolerance);
            double loss = lm.Loss(ids, labels, mask).cpu().item<float>();
            double expected = reference.GetProperty("loss").GetDouble();
            report("base " + lossCheck, bf16 ? RelativeLoss(loss, expected) : Math.Abs(loss - expected), lossTolerance);
        }

        using (var lm = ForCausalLM.FromPretrained(model, dtype, device))
        {
            var lora = PeftAdapter.Load(lm, Path.Combine(model, "adapter"));
            using (torch.no_grad())
                report("LoRA " + logitCheck, MaxDiffOverScale(Load("lora_logits"), lm.forward(ids, mask)), logitTolerance);
            lm.train();
            var loss = lm.Loss(ids, labels, mask);
            double value = loss.cpu().item<float>();
            double expected = reference.GetProperty("lora_loss").GetDouble();
            report("LoRA " + lossCheck, bf16 ? RelativeLoss(value, expected) : Math.Abs(value - expected), lossTolerance);
            loss.backward();
            double worst = 0;
            foreach (var (name, p) in lora.TrainableParameters)
            {
                var g = tensors.Load("grad." + name);
                worst = Math.Max(worst, (g - p.grad!.cpu().to(ScalarType.Float32)).abs().max().item<float>() / Math.Max(1e-12, g.norm().item<float>()));
            }
            report("LoRA worst gradient max abs Δ ÷ norm", worst, bf16 ? 0.05 : 1e-3);
        }

        using (var lm = ForCausalLM.FromPretrained(model, dtype, device))
        {
            var lora = PeftAdapter.Load(lm, Path.Combine(model, "adapter"));
            lm.train();
            var adamw = reference.GetProperty("adamw");
            var betas = adamw.GetProperty("betas");
            using var optimizer = new AdamWOptimizer(lora.TrainableParameters, new AdamWOptions(adamw.GetProperty("lr").GetDouble(),
                betas[0].GetDouble(), betas[1].GetDouble(), adamw.GetProperty("eps").GetDouble(), adamw.GetProperty("weight_decay").GetDouble()));
            var expected = adamw.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double worst = 0;
            for (int step = 0; step < expected.Length; step++)
            {
                using var stepScope = torch.NewDisposeScope();
                var loss = lm.Loss(ids, labels, mask);
                loss.backward();
                optimizer.Step();
                optimizer.ZeroGrad();
                double value = loss.cpu().item<float>();
                worst = Math.Max(worst, bf16 ? RelativeLoss(value, expected[step]) : Math.Abs(value - expected[step]));
            }
            report($"{expected.Length} AdamW steps, worst " + lossCheck, worst, lossTolerance);
        }
    }
}
