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
}
