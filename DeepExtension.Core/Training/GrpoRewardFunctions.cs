using System.Globalization;

namespace DeepExtension.Core.Training;

/// <summary>
/// The names of the built-in GRPO reward functions (the method's <c>reward_functions</c> parameter): offered by the
/// parameter schema, scored by the engine (<c>GrpoRewards</c>).
/// </summary>
public static class GrpoRewardFunctions
{
    public const string ExactMatch = "exact_match";
    public const string ContainsAnswer = "contains_answer";
    public const string NumericMatch = "numeric_match";
    public const string FormatThink = "format_think";

    public static IReadOnlyList<string> All { get; } = [ExactMatch, ContainsAnswer, NumericMatch, FormatThink];

    /// <summary>
    /// The weights of <paramref name="count"/> reward functions from a comma-separated list ("1, 0.5"); blank gives 1
    /// each. Throws <see cref="InvalidDataException"/> when the list is not <paramref name="count"/> numbers.
    /// </summary>
    public static IReadOnlyList<double> ParseWeights(string? text, int count)
    {
        if (string.IsNullOrWhiteSpace(text)) return Enumerable.Repeat(1.0, count).ToList();
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var weights = new List<double>();
        foreach (var part in parts)
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var weight) || !double.IsFinite(weight))
                throw new InvalidDataException($"Reward weight \"{part}\" is not a number.");
            weights.Add(weight);
        }
        if (weights.Count != count)
            throw new InvalidDataException($"{weights.Count} reward weight(s) for {count} reward function(s): give one weight per function, or none.");
        return weights;
    }
}
