using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepExtension.Core.Runs;

/// <summary>
/// What tokenizing a run's dataset gave: the examples it trains and validates on, how many were truncated to
/// <paramref name="MaxTokens"/> and how many were skipped (nothing left to learn). The worker writes it as one line of the
/// run's log (the log reaches the console from any node), and the train page reads it back from there: this type is the
/// one writer and the one reader of that line, so its wording is its format.
/// </summary>
public sealed partial record TrainingDataReport(int TrainExamples, int ValidationExamples, int Truncated, int Skipped, int MaxTokens)
{
    /// <summary>Every tokenized example: those kept for training and validation, and those skipped.</summary>
    public int Examples => TrainExamples + ValidationExamples + Skipped;

    public string ToLogMessage() =>
        $"Dataset: {TrainExamples} training and {ValidationExamples} validation examples"
        + (Truncated > 0 ? $", {Truncated} truncated to {MaxTokens} tokens" : "")
        + (Skipped > 0 ? $", {Skipped} skipped (no answer tokens left after truncation)" : "") + ".";

    /// <summary>The report a log line holds, or null for any other line.</summary>
    public static TrainingDataReport? Parse(string message)
    {
        var match = Line().Match(message);
        if (!match.Success) return null;
        static int Int(Group g) => g.Success ? int.Parse(g.Value, CultureInfo.InvariantCulture) : 0;
        return new TrainingDataReport(Int(match.Groups["train"]), Int(match.Groups["validation"]), Int(match.Groups["truncated"]),
            Int(match.Groups["skipped"]), Int(match.Groups["max"]));
    }

    /// <summary>The last report among <paramref name="lines"/> (a resumed run tokenizes again), or null.</summary>
    public static TrainingDataReport? Last(IReadOnlyList<LogLine> lines)
    {
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            if (lines[i].Message.StartsWith("Dataset: ", StringComparison.Ordinal) && Parse(lines[i].Message) is { } report) return report;
        }
        return null;
    }

    [GeneratedRegex(@"^Dataset: (?<train>\d+) training and (?<validation>\d+) validation examples(?:, (?<truncated>\d+) truncated to (?<max>\d+) tokens)?(?:, (?<skipped>\d+) skipped \(no answer tokens left after truncation\))?\.$")]
    private static partial Regex Line();
}
