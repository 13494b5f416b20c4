using System.Text.RegularExpressions;
using DeepExtension.Core.Deployment;

namespace DeepExtension.Core.Evaluations;

/// <summary>What the judge said about one ordering of two answers.</summary>
public enum JudgeChoice
{
    A,
    B,
    Tie,
    /// <summary>No verdict could be read from the reply; counts as a tie.</summary>
    Unparsed,
}

/// <summary>A candidate's outcome against its opponent once both orders are judged.</summary>
public enum PairVerdict
{
    Win,
    Tie,
    Loss,
}

/// <summary>
/// A candidate judged against an opponent in both orders: <paramref name="CandidateFirst"/> with the candidate as
/// answer A, <paramref name="CandidateSecond"/> with it as answer B. It wins only when the judge prefers it in both
/// orders and loses only when it prefers the opponent in both; anything else (ties, or a judge that follows the
/// position) is a tie, so a judge's position bias cancels out.
/// </summary>
public sealed record JudgedPair(string Opponent, JudgeChoice CandidateFirst, JudgeChoice CandidateSecond)
{
    public PairVerdict Verdict => (CandidateFirst, CandidateSecond) switch
    {
        (JudgeChoice.A, JudgeChoice.B) => PairVerdict.Win,
        (JudgeChoice.B, JudgeChoice.A) => PairVerdict.Loss,
        _ => PairVerdict.Tie,
    };

    /// <summary>The judge contradicted itself: it preferred whichever answer came first (or second) in both orders.</summary>
    public bool Inconsistent => CandidateFirst == CandidateSecond && CandidateFirst is JudgeChoice.A or JudgeChoice.B;
}

/// <summary>Win, tie and loss counts of a candidate against its opponent, with 95 % Wilson intervals of the rates.</summary>
public sealed record JudgeSummary(string Opponent, int Wins, int Ties, int Losses, int Inconsistent, int Unparsed,
    double WinRate, double WinLow, double WinHigh, double TieRate, double LossRate, double LossLow, double LossHigh)
{
    public int Total => Wins + Ties + Losses;

    public static JudgeSummary Of(IReadOnlyList<JudgedPair> pairs)
    {
        var total = pairs.Count;
        var wins = pairs.Count(p => p.Verdict == PairVerdict.Win);
        var losses = pairs.Count(p => p.Verdict == PairVerdict.Loss);
        var ties = total - wins - losses;
        var (winLow, winHigh) = EvaluationScores.Wilson(wins, total);
        var (lossLow, lossHigh) = EvaluationScores.Wilson(losses, total);
        double Rate(int n) => total == 0 ? 0 : (double)n / total;
        return new JudgeSummary(pairs.FirstOrDefault()?.Opponent ?? "", wins, ties, losses, pairs.Count(p => p.Inconsistent),
            pairs.Count(p => p.CandidateFirst == JudgeChoice.Unparsed || p.CandidateSecond == JudgeChoice.Unparsed),
            Rate(wins), winLow, winHigh, Rate(ties), Rate(losses), lossLow, lossHigh);
    }
}

/// <summary>
/// An LLM judge: a model deployed in Ollama compares two answers to the same question against the reference (MT-Bench's
/// pairwise prompt with a reference, which the user may edit: <c>{question}</c>, <c>{reference}</c>, <c>{answer_a}</c> and
/// <c>{answer_b}</c> are filled in), in both orders.
/// </summary>
public sealed partial class LlmJudge(DeploymentService deployments)
{
    public const string DefaultPrompt =
        """
        Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. Compare both answers with the reference answer: correctness matters most, then helpfulness and clarity. Avoid any position bias: the order in which the answers are presented must not influence your decision, nor their length. Be as objective as possible. After a brief explanation, output your final verdict strictly in this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.

        [User Question]
        {question}

        [The Start of Reference Answer]
        {reference}
        [The End of Reference Answer]

        [The Start of Assistant A's Answer]
        {answer_a}
        [The End of Assistant A's Answer]

        [The Start of Assistant B's Answer]
        {answer_b}
        [The End of Assistant B's Answer]
        """;

    public static readonly IReadOnlyList<string> Placeholders = ["{question}", "{reference}", "{answer_a}", "{answer_b}"];

    /// <summary>The prompt for one ordering.</summary>
    public static string Render(string template, string question, string reference, string answerA, string answerB) =>
        template.Replace("{question}", question, StringComparison.Ordinal).Replace("{reference}", reference, StringComparison.Ordinal)
            .Replace("{answer_a}", answerA, StringComparison.Ordinal).Replace("{answer_b}", answerB, StringComparison.Ordinal);

    /// <summary>
    /// The verdict in a judge's reply: the last [[A]], [[B]] or [[C]] / [[tie]] (brackets, case and spaces tolerated);
    /// failing that, a last "verdict: A" / "winner: B" / "tie"; else <see cref="JudgeChoice.Unparsed"/>.
    /// </summary>
    public static JudgeChoice Parse(string reply)
    {
        var bracketed = Bracketed().Matches(reply);
        var value = bracketed.Count > 0 ? bracketed[^1].Groups[1].Value
            : Stated().Matches(reply) is { Count: > 0 } stated ? stated[^1].Groups[1].Value
            : null;
        return value?.ToUpperInvariant() switch
        {
            "A" => JudgeChoice.A,
            "B" => JudgeChoice.B,
            "C" or "TIE" => JudgeChoice.Tie,
            _ => JudgeChoice.Unparsed,
        };
    }

    /// <summary>Asks the judge about one ordering.</summary>
    public async Task<JudgeChoice> JudgeAsync(Guid judgeDeploymentId, string template, string question, string reference, string answerA, string answerB,
        CancellationToken cancellationToken = default)
    {
        var prompt = Render(template, question, reference, answerA, answerB);
        var reply = string.Concat(await deployments.ChatAsync(judgeDeploymentId, [new ChatTurn("user", prompt)], cancellationToken).ToListAsync(cancellationToken));
        return Parse(reply);
    }

    /// <summary>Judges <paramref name="candidate"/> against <paramref name="opponent"/> in both orders.</summary>
    public async Task<JudgedPair> CompareAsync(Guid judgeDeploymentId, string template, string question, string reference,
        (string Name, string Answer) candidate, (string Name, string Answer) opponent, CancellationToken cancellationToken = default)
    {
        var first = await JudgeAsync(judgeDeploymentId, template, question, reference, candidate.Answer, opponent.Answer, cancellationToken);
        var second = await JudgeAsync(judgeDeploymentId, template, question, reference, opponent.Answer, candidate.Answer, cancellationToken);
        return new JudgedPair(opponent.Name, first, second);
    }

    /// <summary>
    /// Judges every model after the first against the first, for every example, and returns the examples with their verdicts.
    /// </summary>
    public async Task<List<EvaluationExample>> JudgeAllAsync(Guid judgeDeploymentId, string template, IReadOnlyList<EvaluationExample> examples,
        IReadOnlyList<string> models, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var judged = new List<EvaluationExample>(examples.Count);
        if (models.Count < 2) return examples.ToList();
        var opponent = models[0];
        for (var i = 0; i < examples.Count; i++)
        {
            var example = examples[i];
            var verdicts = new Dictionary<string, JudgedPair>(StringComparer.Ordinal);
            foreach (var model in models.Skip(1))
            {
                verdicts[model] = await CompareAsync(judgeDeploymentId, template, example.Question, example.Reference,
                    (model, example.Answers[model].Text), (opponent, example.Answers[opponent].Text), cancellationToken);
            }
            judged.Add(example with { Judge = verdicts });
            progress?.Invoke(i + 1);
        }
        return judged;
    }

    [GeneratedRegex(@"\[\[\s*(A|B|C|tie)\s*\]\]", RegexOptions.IgnoreCase)]
    private static partial Regex Bracketed();

    [GeneratedRegex(@"(?:verdict|winner|better)\W{0,4}(?:is\s+)?(?:assistant\s+)?\b(A|B|tie)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Stated();
}
