using DeepExtension.Core.Common;
using DeepExtension.Core.Evaluations;

namespace DeepExtension.Web.Components.Controls;

/// <summary>The aggregate rows of an evaluation, labelled and formatted as every page shows them (an evaluation's page, Compare).</summary>
public static class EvaluationScoreRows
{
    public sealed record Row(string Key, string Label, Func<ModelAggregate, string> Value);

    public static IReadOnlyList<Row> All { get; } =
    [
        new("exact_match", "Exact match", a => DisplayFormat.Percent(a.Means.GetValueOrDefault(EvaluationScores.ExactMatch))),
        new("contains_answer", "Contains answer", a => DisplayFormat.Percent(a.Means.GetValueOrDefault(EvaluationScores.ContainsAnswer))),
        new("numeric_match", "Numeric match", a => DisplayFormat.Percent(a.Means.GetValueOrDefault(EvaluationScores.NumericMatch))),
        new("rouge_l", "ROUGE-L (F)", a => DisplayFormat.Significant(a.Means.GetValueOrDefault(EvaluationScores.RougeL), 3)),
        new("bleu", "BLEU", a => DisplayFormat.Significant(a.Means.GetValueOrDefault(EvaluationScores.Bleu), 3)),
        new("loss", "Reference loss", a => DisplayFormat.Loss(a.MeanLoss)),
        new("perplexity", "Perplexity", a => DisplayFormat.Significant(a.Perplexity, 4)),
        new("answer_tokens", "Answer length (tokens)", a => DisplayFormat.Significant(a.MeanAnswerTokens, 3)),
        new("answer_words", "Answer length (words)", a => DisplayFormat.Significant(a.Means.GetValueOrDefault(EvaluationScores.AnswerWords), 3)),
        new("judge_record", "Judge: win / tie / loss", a => a.Judge is { } j ? $"{DisplayFormat.Count(j.Wins)} / {DisplayFormat.Count(j.Ties)} / {DisplayFormat.Count(j.Losses)} vs {j.Opponent}" : "—"),
        new("judge_no_verdict", "Judge: no verdict", a => a.Judge is { } j ? $"{DisplayFormat.Count(j.NoVerdict)} of {DisplayFormat.Count(j.Total)} pairs" : "—"),
        new("judge_win_rate", "Judge: win rate (95 % CI)", a => a.Judge switch
        {
            null => "—",
            { Decided: 0 } => "no pair decided",
            var j => $"{DisplayFormat.Percent(j.WinRate)} ({DisplayFormat.Percent(j.WinLow)}–{DisplayFormat.Percent(j.WinHigh)}) of {DisplayFormat.Count(j.Decided)} decided",
        }),
    ];
}
