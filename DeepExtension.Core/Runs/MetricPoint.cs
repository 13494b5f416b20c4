using System.Buffers;
using System.Text;
using System.Text.Json;

namespace DeepExtension.Core.Runs;

/// <summary>
/// The metrics of one logging step. Well-known keys are in <see cref="Keys"/>; methods add their own
/// (for DPO "rewards/chosen", "rewards/margins", ...; for GRPO "rewards/exact_match", ... per reward function). Evaluation points carry "eval_loss".
/// A point carries where the run stands (step, epoch, elapsed time, <see cref="TotalSteps"/>, and the ETA in
/// <see cref="Keys.EtaSeconds"/>), so every number shown about a run is derived from its points (see <see cref="RunSummary"/>).
/// </summary>
public sealed record MetricPoint(long Step, double Epoch, double ElapsedSeconds, IReadOnlyDictionary<string, double> Values)
{
    /// <summary>The run's planned optimizer steps when this point was logged; null on lines written before it was recorded.</summary>
    public long? TotalSteps { get; init; }

    /// <summary>The fencing token of the lease the point was written under (see <see cref="Work.LeaseFence"/>); null on lines of earlier versions.</summary>
    public long? LeaseToken { get; init; }

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
        /// <summary>GRPO and PPO evaluation: mean reward of greedy completions of the validation split's prompts.</summary>
        public const string EvalReward = "eval_reward";
        /// <summary>Runs on a GPU: memory in use on the run's GPU after the step, in GiB (NVML; all processes, as nvidia-smi shows).</summary>
        public const string GpuMemoryGib = "gpu_memory_gib";
    }

    public double? this[string key] => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary>One line of metrics.jsonl: {"step":..,"epoch":..,"elapsed":..,"total_steps":..,"lease_token":..,"loss":..,...}.</summary>
    public string ToJsonLine()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("step", Step);
            writer.WriteNumber("epoch", Epoch);
            writer.WriteNumber("elapsed", ElapsedSeconds);
            if (TotalSteps is { } total) writer.WriteNumber("total_steps", total);
            if (LeaseToken is { } token) writer.WriteNumber(Work.LeaseFence.Property, token);
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

    public static MetricPoint? ParseJsonLine(string line) => ParseJsonLine(Encoding.UTF8.GetBytes(line));

    /// <summary>Parses one line on its own, from its UTF-8 bytes (see <see cref="MetricLineReader"/>, the one reader of the format; a
    /// file is read through <see cref="MetricsFile"/>, which leaves out stale lines).</summary>
    public static MetricPoint? ParseJsonLine(ReadOnlySpan<byte> line)
    {
        var reader = new MetricLineReader();
        return reader.Read(line) ? Of(reader) : null;
    }

    /// <summary>The point <paramref name="reader"/> has just read.</summary>
    internal static MetricPoint Of(MetricLineReader reader)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in reader.Values) values[key] = value;
        return new MetricPoint(reader.Step, reader.Epoch, reader.Elapsed, values) { TotalSteps = reader.TotalSteps, LeaseToken = reader.LeaseToken };
    }

    public override string ToString() => ToJsonLine();

}
