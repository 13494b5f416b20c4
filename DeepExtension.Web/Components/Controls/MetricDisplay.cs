using DeepExtension.Core.Common;
using DeepExtension.Core.Runs;

namespace DeepExtension.Web.Components.Controls;

/// <summary>How a logged metric reads: its label and its value with units (the latest-metrics panel).</summary>
public static class MetricDisplay
{
    private static readonly (string Key, string Label)[] Known =
    [
        (MetricPoint.Keys.Loss, "Training loss"),
        (MetricPoint.Keys.EvalLoss, "Evaluation loss"),
        (MetricPoint.Keys.LearningRate, "Learning rate"),
        (MetricPoint.Keys.GradNorm, "Gradient norm"),
        (MetricPoint.Keys.TokensPerSecond, "Tokens per second"),
        (MetricPoint.Keys.EtaSeconds, "Time left (ETA)"),
        (MetricPoint.Keys.Reward, "Mean reward"),
        (MetricPoint.Keys.RewardStd, "Reward std within groups"),
        (MetricPoint.Keys.Kl, "KL to the reference"),
        (MetricPoint.Keys.CompletionLength, "Completion length"),
        ("rewards/chosen", "Reward, chosen"),
        ("rewards/rejected", "Reward, rejected"),
        ("rewards/margins", "Reward margin"),
        ("rewards/accuracies", "Reward accuracy"),
    ];

    public static string Label(string key)
    {
        foreach (var (known, label) in Known)
        {
            if (known == key) return label;
        }
        // Per-function GRPO rewards ("rewards/exact_match") and anything newer: readable words from the key.
        var words = key.Replace("rewards/", "reward: ", StringComparison.Ordinal).Replace('_', ' ').Replace('/', ' ');
        return words.Length == 0 ? key : char.ToUpperInvariant(words[0]) + words[1..];
    }

    /// <summary>Known metrics first, in the order above; others after them.</summary>
    public static int Order(string key)
    {
        var index = Array.FindIndex(Known, k => k.Key == key);
        return index < 0 ? Known.Length : index;
    }

    public static string Format(string key, double value) => key switch
    {
        MetricPoint.Keys.EtaSeconds => DisplayFormat.Seconds(value),
        MetricPoint.Keys.TokensPerSecond => DisplayFormat.Rate(value) + " tokens/s",
        MetricPoint.Keys.CompletionLength => DisplayFormat.Rate(value) + " tokens",
        "rewards/accuracies" => DisplayFormat.Percent(value),
        _ => DisplayFormat.Significant(value),
    };
}
