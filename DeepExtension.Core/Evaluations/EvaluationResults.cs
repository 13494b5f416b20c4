using System.Globalization;
using System.Text;
using System.Text.Json;
using DeepExtension.Core.Common;
using DeepExtension.Core.Datasets;

namespace DeepExtension.Core.Evaluations;

/// <summary>A model's answer to one example, with its scores against the reference.</summary>
/// <param name="Tokens">Generated tokens (without the stop token).</param>
/// <param name="Stopped">True when the model ended its answer itself; false when it ran to the token limit.</param>
/// <param name="Loss">Mean cross-entropy of the reference answer's tokens given the prompt; null when it could not be scored.</param>
/// <param name="ReferenceTokens">How many reference tokens <paramref name="Loss"/> averages over.</param>
public sealed record ModelAnswer(string Text, int Tokens, bool Stopped, IReadOnlyDictionary<string, double> Scores, double? Loss, int ReferenceTokens);

/// <summary>One example of an evaluation: the prompt, the reference, each model's answer and the judge's verdicts.</summary>
public sealed record EvaluationExample(long Index, IReadOnlyList<DatasetMessage> Prompt, string Reference,
    IReadOnlyDictionary<string, ModelAnswer> Answers, IReadOnlyDictionary<string, JudgedPair>? Judge = null)
{
    /// <summary>The last user turn: what the example asks.</summary>
    public string Question => Prompt.LastOrDefault(m => m.Role == DatasetRoles.User)?.Content ?? Prompt.LastOrDefault()?.Content ?? "";

    /// <summary>Whether the models' answers differ (after the normalisation the match scores use).</summary>
    public bool Disagree => Answers.Values.Select(a => Training.GrpoRewardFunctions.Normalize(a.Text)).Distinct(StringComparer.Ordinal).Count() > 1;

    /// <summary>The largest difference of <paramref name="score"/> between two models (0 with fewer than two).</summary>
    public double Spread(string score)
    {
        var values = Answers.Values.Select(a => a.Scores.TryGetValue(score, out var v) ? v : double.NaN).Where(v => !double.IsNaN(v)).ToList();
        return values.Count < 2 ? 0 : values.Max() - values.Min();
    }
}

/// <summary>
/// The per-example results file of an evaluation (evaluations/&lt;id&gt;/results.jsonl): one <see cref="EvaluationExample"/>
/// per line, snake_case JSON. Written whole as results.jsonl.partial and renamed, so a reader never sees half of it.
/// Exports as the same JSON lines or as CSV (one row per example and model).
/// </summary>
public static class EvaluationResults
{
    public const string FileName = "results.jsonl";

    public static void Write(string path, IEnumerable<EvaluationExample> examples)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".partial";
        using (var writer = new StreamWriter(partial, append: false, new UTF8Encoding(false)))
        {
            foreach (var example in examples) writer.WriteLine(JsonSerializer.Serialize(example, Evaluation.Json));
        }
        File.Move(partial, path, overwrite: true);
    }

    public static List<EvaluationExample> Read(string path)
    {
        if (!File.Exists(path)) return [];
        return File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<EvaluationExample>(l, Evaluation.Json)!).ToList();
    }

    /// <summary>One row per example and model: index, model, question, reference, answer, tokens, loss, every score, judge verdict.</summary>
    public static string ToCsv(IReadOnlyList<EvaluationExample> examples, IReadOnlyList<string> models)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', ["index", "model", "question", "reference", "answer", "tokens", "stopped", "loss", .. EvaluationScores.Names, "judge"]).Append('\n');
        foreach (var example in examples)
        {
            foreach (var model in models)
            {
                if (!example.Answers.TryGetValue(model, out var answer)) continue;
                var verdict = example.Judge is not null && example.Judge.TryGetValue(model, out var pair) ? pair.Verdict.Label() : "";
                csv.AppendJoin(',', [
                    example.Index.ToString(CultureInfo.InvariantCulture), CsvText.Cell(model), CsvText.Cell(example.Question), CsvText.Cell(example.Reference), CsvText.Cell(answer.Text),
                    answer.Tokens.ToString(CultureInfo.InvariantCulture), answer.Stopped ? "true" : "false",
                    answer.Loss?.ToString("R", CultureInfo.InvariantCulture) ?? "",
                    .. EvaluationScores.Names.Select(s => answer.Scores.TryGetValue(s, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : ""),
                    verdict,
                ]).Append('\n');
            }
        }
        return csv.ToString();
    }

    public static string ToJsonLines(IEnumerable<EvaluationExample> examples) =>
        string.Concat(examples.Select(e => JsonSerializer.Serialize(e, Evaluation.Json) + "\n"));

    /// <summary>
    /// Each model's aggregates over <paramref name="examples"/>: score means, the token-weighted reference loss and its
    /// perplexity, the mean answer length in tokens and, when judged, the judge's record.
    /// </summary>
    public static List<ModelAggregate> Aggregate(IReadOnlyList<EvaluationExample> examples, IReadOnlyList<string> models)
    {
        var aggregates = new List<ModelAggregate>();
        foreach (var model in models)
        {
            var answers = examples.Select(e => e.Answers.GetValueOrDefault(model)).OfType<ModelAnswer>().ToList();
            var means = EvaluationScores.Names.ToDictionary(s => s, s => EvaluationScores.Mean(answers.Select(a => a.Scores.GetValueOrDefault(s))) ?? 0);
            var scored = answers.Where(a => a.Loss is not null && a.ReferenceTokens > 0).ToList();
            var tokens = scored.Sum(a => (double)a.ReferenceTokens);
            double? loss = tokens > 0 ? scored.Sum(a => a.Loss!.Value * a.ReferenceTokens) / tokens : null;
            var verdicts = examples.Select(e => e.Judge?.GetValueOrDefault(model)).OfType<JudgedPair>().ToList();
            aggregates.Add(new ModelAggregate(model, answers.Count, means, loss, loss is null ? null : Math.Exp(loss.Value),
                EvaluationScores.Mean(answers.Select(a => (double)a.Tokens)) ?? 0,
                verdicts.Count == 0 ? null : JudgeSummary.Of(verdicts)));
        }
        return aggregates;
    }
}
