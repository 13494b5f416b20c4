using System.Text.RegularExpressions;
using DeepExtension.Core.Training;

namespace DeepExtension.Core.Evaluations;

/// <summary>
/// The per-example scores of an evaluation, as pure functions of an answer and its reference, and their aggregates.
/// The match scores are the GRPO reward functions (<see cref="GrpoRewardFunctions"/>); ROUGE-L and BLEU follow the
/// reference implementations named on each, so numbers compare with what teams compute in Python.
/// </summary>
public static partial class EvaluationScores
{
    public const string ExactMatch = GrpoRewardFunctions.ExactMatch;
    public const string ContainsAnswer = GrpoRewardFunctions.ContainsAnswer;
    public const string NumericMatch = GrpoRewardFunctions.NumericMatch;
    public const string RougeL = "rouge_l";
    public const string Bleu = "bleu";
    public const string AnswerWords = "answer_words";

    /// <summary>Every text score, in the order they are shown.</summary>
    public static IReadOnlyList<string> Names { get; } = [ExactMatch, ContainsAnswer, NumericMatch, RougeL, Bleu, AnswerWords];

    /// <summary>Every score of <paramref name="answer"/> against <paramref name="reference"/>, by name.</summary>
    public static Dictionary<string, double> All(string answer, string reference) => new(StringComparer.Ordinal)
    {
        [ExactMatch] = GrpoRewardFunctions.Score(ExactMatch, answer, reference),
        [ContainsAnswer] = GrpoRewardFunctions.Score(ContainsAnswer, answer, reference),
        [NumericMatch] = GrpoRewardFunctions.Score(NumericMatch, answer, reference),
        [RougeL] = RougeLF(answer, reference),
        [Bleu] = SentenceBleu(answer, reference),
        [AnswerWords] = WordCount(answer),
    };

    /// <summary>Whitespace-separated words: a length that does not depend on the model's tokenizer.</summary>
    public static int WordCount(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>
    /// ROUGE-L F-measure as Google's <c>rouge-score</c> computes it with its default tokenizer and no stemmer: lower
    /// case, every run of characters outside [a-z0-9] becomes a space, tokens split on whitespace; the longest common
    /// subsequence of the tokens gives precision (over the answer) and recall (over the reference); 0 when either is empty.
    /// </summary>
    public static double RougeLF(string answer, string reference)
    {
        var prediction = RougeTokens(answer);
        var target = RougeTokens(reference);
        if (prediction.Length == 0 || target.Length == 0) return 0;
        var lcs = LongestCommonSubsequence(target, prediction);
        var precision = (double)lcs / prediction.Length;
        var recall = (double)lcs / target.Length;
        return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    }

    /// <summary>rouge-score's default tokenizer (<c>tokenize.tokenize</c> without a stemmer).</summary>
    public static string[] RougeTokens(string text) =>
        NonAlphanumeric().Replace(text.ToLowerInvariant(), " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static int LongestCommonSubsequence(string[] a, string[] b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        foreach (var token in a)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = token == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>
    /// Sentence BLEU-4 on a 0..1 scale, as <c>sacrebleu.sentence_bleu(answer, [reference])</c> computes it (its score / 100):
    /// the "13a" tokenizer (mteval-v13a's punctuation splitting, case kept), clipped n-gram precisions for n = 1..4,
    /// "exp" smoothing (the k-th precision with no match counts as 1 / (2^k · total), as NIST's mteval and NLTK's
    /// <c>SmoothingFunction().method3</c> do), effective order (orders the answer is too short for are left out of the
    /// geometric mean) and the brevity penalty exp(1 − r/c) when the answer is shorter than the reference.
    /// </summary>
    public static double SentenceBleu(string answer, string reference)
    {
        const int maxOrder = 4;
        var hypothesis = Tokenize13a(answer);
        var target = Tokenize13a(reference);
        if (hypothesis.Length == 0) return 0;

        // sacrebleu stops early (score 0) when no unigram matches.
        var referenceUnigrams = NGramCounts(target, 1);
        if (!hypothesis.Any(referenceUnigrams.ContainsKey)) return 0;

        var logSum = 0.0;
        var effectiveOrder = 0;
        var smoothing = 1.0;
        for (var n = 1; n <= maxOrder; n++)
        {
            var total = hypothesis.Length - n + 1;
            if (total <= 0) break;
            var referenceCounts = NGramCounts(target, n);
            var matches = NGramCounts(hypothesis, n).Sum(g => Math.Min(g.Value, referenceCounts.GetValueOrDefault(g.Key)));
            effectiveOrder = n;
            double precision;
            if (matches == 0)
            {
                smoothing *= 2;
                precision = 1 / (smoothing * total);
            }
            else
            {
                precision = (double)matches / total;
            }
            logSum += Math.Log(precision);
        }
        var brevity = hypothesis.Length < target.Length ? Math.Exp(1 - (double)target.Length / hypothesis.Length) : 1;
        return brevity * Math.Exp(logSum / effectiveOrder);
    }

    private static Dictionary<string, int> NGramCounts(string[] tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i + n <= tokens.Length; i++)
        {
            var gram = string.Join('\u0001', tokens, i, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }

    /// <summary>sacrebleu's <c>Tokenizer13a</c>: mteval-v13a.pl's normalisation and punctuation splitting.</summary>
    public static string[] Tokenize13a(string text)
    {
        var line = text.Replace("<skipped>", "", StringComparison.Ordinal).Replace("-\n", "", StringComparison.Ordinal).Replace('\n', ' ');
        if (line.Contains('&', StringComparison.Ordinal))
        {
            line = line.Replace("&quot;", "\"", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal)
                .Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal);
        }
        line = $" {line} ";
        line = Punctuation().Replace(line, " $1 ");
        line = PeriodCommaAfterNonDigit().Replace(line, "$1 $2 ");
        line = PeriodCommaBeforeNonDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonAlphanumeric();

    // mteval-v13a: {-~, [-`, space-&, (-+, :-@ and / are split off.
    [GeneratedRegex(@"([\{-\~\[-\` -\&\(-\+\:-\@\/])")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"([^0-9])([\.,])")]
    private static partial Regex PeriodCommaAfterNonDigit();

    [GeneratedRegex(@"([\.,])([^0-9])")]
    private static partial Regex PeriodCommaBeforeNonDigit();

    [GeneratedRegex(@"([0-9])(-)")]
    private static partial Regex DashAfterDigit();

    /// <summary>The mean of <paramref name="values"/>, or null when there are none.</summary>
    public static double? Mean(IEnumerable<double> values)
    {
        double sum = 0;
        var count = 0;
        foreach (var value in values)
        {
            sum += value;
            count++;
        }
        return count == 0 ? null : sum / count;
    }

    /// <summary>
    /// The Wilson score interval of a proportion (<paramref name="successes"/> of <paramref name="trials"/>) at
    /// <paramref name="z"/> standard errors (1.96: 95 %); it stays inside [0, 1] and is sensible for small samples and
    /// rates near 0 or 1, unlike the normal approximation.
    /// </summary>
    public static (double Low, double High) Wilson(double successes, int trials, double z = 1.96)
    {
        if (trials <= 0) return (0, 1);
        var p = successes / trials;
        var z2 = z * z;
        var denominator = 1 + z2 / trials;
        var centre = (p + z2 / (2 * trials)) / denominator;
        var half = z * Math.Sqrt(p * (1 - p) / trials + z2 / (4.0 * trials * trials)) / denominator;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
