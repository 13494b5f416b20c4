using DeepExtension.Core.Training;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>
/// The built-in GRPO reward functions (the names of the method's <c>reward_functions</c> parameter). Each scores a
/// completion against the reference answer with 0 or 1; a completion's reward is their sum. The scoring itself lives
/// in <see cref="GrpoRewardFunctions"/>, which evaluations share.
/// </summary>
public static class GrpoRewards
{
    public const string ExactMatch = GrpoRewardFunctions.ExactMatch;
    public const string ContainsAnswer = GrpoRewardFunctions.ContainsAnswer;
    public const string NumericMatch = GrpoRewardFunctions.NumericMatch;
    public const string FormatThink = GrpoRewardFunctions.FormatThink;

    public static IReadOnlyList<string> Names => GrpoRewardFunctions.All;

    public static double Score(string name, string completion, string reference) => GrpoRewardFunctions.Score(name, completion, reference);

    /// <summary>The sum of <paramref name="names"/>' scores.</summary>
    public static double Total(IEnumerable<string> names, string completion, string reference) => names.Sum(n => Score(n, completion, reference));

    /// <inheritdoc cref="GrpoRewardFunctions.Normalize"/>
    public static string Normalize(string text) => GrpoRewardFunctions.Normalize(text);

    /// <inheritdoc cref="GrpoRewardFunctions.LastNumber"/>
    public static decimal? LastNumber(string text) => GrpoRewardFunctions.LastNumber(text);
}
