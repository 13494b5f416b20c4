using System.Buffers;
using System.Text;
using System.Text.Json;

namespace DeepExtension.Core.Runs;

/// <summary>
/// The metrics of one logging step. Well-known keys are in <see cref="Keys"/>; methods add their own
/// (for DPO "rewards/chosen", "rewards/margins", ...; for GRPO "rewards/exact_match", ... per reward function). Evaluation points carry "eval_loss".
/// </summary>
public sealed record MetricPoint(long Step, double Epoch, double ElapsedSeconds, IReadOnlyDictionary<string, double> Values)
{
    public static class Keys
    {
        public const string Loss = "loss";
        public const string EvalLoss = "eval_loss";
        public const string LearningRate = "learning_rate";
        public const string GradNorm = "grad_norm";
        public const string TokensPerSecond = "tokens_per_second";
        public const string EtaSeconds = "eta_seconds";
        /// <summary>GRPO: mean reward of the step's completions.</summary>
        public const string Reward = "reward";
        /// <summary>GRPO: mean over prompts of the reward's standard deviation within the prompt's group.</summary>
        public const string RewardStd = "reward_std";
        /// <summary>GRPO: mean per-completion KL estimate (k3) between the policy and the reference.</summary>
        public const string Kl = "kl";
        /// <summary>GRPO: mean completion length in tokens, the stop token included.</summary>
        public const string CompletionLength = "completion_length";
        /// <summary>Runs on a GPU: memory in use on the run's GPU after the step, in GiB (NVML; all processes, as nvidia-smi shows).</summary>
        public const string GpuMemoryGib = "gpu_memory_gib";
    }

    public double? this[string key] => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary>One line of metrics.jsonl: {"step":..,"epoch":..,"elapsed":..,"loss":..,...}.</summary>
    public string ToJsonLine()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("step", Step);
            writer.WriteNumber("epoch", Epoch);
            writer.WriteNumber("elapsed", ElapsedSeconds);
            foreach (var (key, value) in Values)
            {
                // JSON has no NaN/Infinity; a diverged loss is recorded as null and shown as a gap.
                if (double.IsFinite(value)) writer.WriteNumber(key, value);
                else writer.WriteNull(key);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static MetricPoint? ParseJsonLine(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("step", out var step)) return null;
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is "step" or "epoch" or "elapsed") continue;
                values[property.Name] = property.Value.ValueKind == JsonValueKind.Number ? property.Value.GetDouble() : double.NaN;
            }
            return new MetricPoint(
                step.GetInt64(),
                root.TryGetProperty("epoch", out var epoch) ? epoch.GetDouble() : 0,
                root.TryGetProperty("elapsed", out var elapsed) ? elapsed.GetDouble() : 0,
                values);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public override string ToString() => ToJsonLine();

}
