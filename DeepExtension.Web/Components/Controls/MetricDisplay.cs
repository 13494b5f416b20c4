using DeepExtension.Core.Common;
using DeepExtension.Core.Runs;

namespace DeepExtension.Web.Components.Controls;

/// <summary>How a logged metric reads in the latest-metrics panel: its name from <see cref="MetricCatalogue"/>, its value with units.</summary>
public static class MetricDisplay
{
    public static string Label(string key)
    {
        if (MetricCatalogue.Find(key) is { } metric) return metric.Name;
        // Per-function GRPO rewards ("rewards/exact_match") and anything newer: readable words from the key.
        var words = key.Replace("rewards/", "reward: ", StringComparison.Ordinal).Replace('_', ' ').Replace('/', ' ');
        return words.Length == 0 ? key : char.ToUpperInvariant(words[0]) + words[1..];
    }

    /// <summary>Known metrics first, in catalogue order; others after them.</summary>
    public static int Order(string key) => MetricCatalogue.OrderOf(key);

    public static string Format(string key, double value) => key switch
    {
        MetricPoint.Keys.EtaSeconds => DisplayFormat.Seconds(value),
        MetricPoint.Keys.TokensPerSecond => DisplayFormat.Rate(value) + " tokens/s",
        MetricPoint.Keys.CompletionLength => DisplayFormat.Rate(value) + " tokens",
        "rewards/accuracies" => DisplayFormat.Percent(value),
        _ => DisplayFormat.Significant(value),
    };
}
