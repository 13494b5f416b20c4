using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepExtension.Core.Training;

/// <summary>
/// The built-in GRPO reward functions (the method's <c>reward_functions</c> parameter): their names, offered by the
/// parameter schema, and their scoring, used by the engine's GRPO (<c>GrpoRewards</c>) and by evaluations alike.
/// Each scores a completion against the reference answer with 0 or 1.
/// </summary>
public static partial class GrpoRewardFunctions
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

    public static double Score(string name, string completion, string reference) => name switch
    {
        ExactMatch => Normalize(completion) == Normalize(reference) ? 1 : 0,
        ContainsAnswer => Normalize(reference) is { Length: > 0 } answer && Normalize(completion).Contains(answer, StringComparison.Ordinal) ? 1 : 0,
        NumericMatch => LastNumber(reference) is { } expected && LastNumber(completion) is { } actual && actual == expected ? 1 : 0,
        FormatThink => ThinkThenAnswer().IsMatch(completion) ? 1 : 0,
        _ => throw new ArgumentException($"Unknown reward function \"{name}\"; known: {string.Join(", ", All)}.", nameof(name)),
    };

    /// <summary>Trimmed, lower case, whitespace runs collapsed to one space: formatting is not what these rewards judge.</summary>
    public static string Normalize(string text) => Whitespace().Replace(text.Trim(), " ").ToLowerInvariant();

    /// <summary>The last number in <paramref name="text"/> ("1,000" = 1000, "3.0" = 3, "-2" = −2), or null.</summary>
    public static decimal? LastNumber(string text)
    {
        var matches = Number().Matches(text);
        if (matches.Count == 0) return null;
        var digits = matches[^1].Value.Replace(",", "", StringComparison.Ordinal);
        return decimal.TryParse(digits, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    // Thousands groups only in threes, so "1,2" in a list stays two numbers.
    [GeneratedRegex(@"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")]
    private static partial Regex Number();

    // A reasoning block, then some non-blank answer after it.
    [GeneratedRegex(@"^\s*<think>.*?</think>\s*\S", RegexOptions.Singleline)]
    private static partial Regex ThinkThenAnswer();
}
