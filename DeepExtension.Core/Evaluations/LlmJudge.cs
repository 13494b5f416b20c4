using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using DeepExtension.Core.Deployment;

namespace DeepExtension.Core.Evaluations;

/// <summary>What the judge said about one ordering of two answers.</summary>
public enum JudgeChoice
{
    A,
    B,
    Tie,
    /// <summary>No verdict could be read from the reply: the pair is counted as "no verdict", never as a tie.</summary>
    Unparsed,
}

/// <summary>A candidate's outcome against its opponent once both orders are judged.</summary>
public enum PairVerdict
{
    Win,
    Tie,
    Loss,
    /// <summary>The judge's reply to at least one order held no verdict: nothing is known about this pair.</summary>
    NoVerdict,
}

public static class PairVerdictText
{
    /// <summary>How a verdict is written on pages and in exports: "win", "tie", "loss", "no verdict".</summary>
    public static string Label(this PairVerdict verdict) => verdict switch
    {
        PairVerdict.NoVerdict => "no verdict",
        _ => verdict.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// A candidate judged against an opponent in both orders: <paramref name="CandidateFirst"/> with the candidate as
/// answer A, <paramref name="CandidateSecond"/> with it as answer B. It wins only when the judge prefers it in both
/// orders and loses only when it prefers the opponent in both; a judge's position bias (the same letter in both
/// orders) or a tie in either order is a tie. A reply without a verdict in either order makes the pair
/// <see cref="PairVerdict.NoVerdict"/>: a judge that never answers in the asked format says nothing, which is not a tie.
/// </summary>
/// <param name="NoVerdictReply">The judge's raw reply to the first order that held no verdict, to show why.</param>
public sealed record JudgedPair(string Opponent, JudgeChoice CandidateFirst, JudgeChoice CandidateSecond, string? NoVerdictReply = null)
{
    public PairVerdict Verdict => (CandidateFirst, CandidateSecond) switch
    {
        (JudgeChoice.Unparsed, _) or (_, JudgeChoice.Unparsed) => PairVerdict.NoVerdict,
        (JudgeChoice.A, JudgeChoice.B) => PairVerdict.Win,
        (JudgeChoice.B, JudgeChoice.A) => PairVerdict.Loss,
        _ => PairVerdict.Tie,
    };

    /// <summary>The judge contradicted itself: it preferred whichever answer came first (or second) in both orders.</summary>
    public bool Inconsistent => CandidateFirst == CandidateSecond && CandidateFirst is JudgeChoice.A or JudgeChoice.B;
}

/// <summary>
/// A candidate's record against its opponent: wins, ties and losses over the pairs the judge decided, with 95 % Wilson
/// intervals of the rates over those pairs; the pairs without a verdict are counted apart (<see cref="NoVerdict"/>) and
/// left out of every rate, so a judge that never answered in the asked format cannot pass for one that saw ties.
/// </summary>
public sealed record JudgeSummary
{
    public string Opponent { get; }
    public int Wins { get; }
    /// <summary>Decided ties only (no-verdict pairs are in <see cref="NoVerdict"/>).</summary>
    public int Ties { get; }
    public int Losses { get; }
    public int Inconsistent { get; }
    /// <summary>Pairs where the judge's reply to at least one order held no verdict.</summary>
    public int NoVerdict { get; }
    /// <summary>One raw judge reply without a verdict (null when every reply had one).</summary>
    public string? NoVerdictReply { get; }

    /// <summary>
    /// <paramref name="unparsed"/> with no <paramref name="noVerdict"/> (-1) reads aggregates stored before no-verdict
    /// pairs were counted apart: those counted them (as "unparsed") among the ties.
    /// </summary>
    [JsonConstructor]
    public JudgeSummary(string opponent, int wins, int ties, int losses, int inconsistent, int noVerdict = -1, string? noVerdictReply = null, int unparsed = 0)
    {
        Opponent = opponent;
        Wins = wins;
        Losses = losses;
        Inconsistent = inconsistent;
        NoVerdict = noVerdict >= 0 ? noVerdict : unparsed;
        Ties = noVerdict >= 0 ? ties : Math.Max(0, ties - unparsed);
        NoVerdictReply = noVerdictReply;
    }

    /// <summary>The same count as <see cref="NoVerdict"/>, under the name earlier versions stored it.</summary>
    public int Unparsed => NoVerdict;

    /// <summary>Pairs with a verdict: what the rates are out of.</summary>
    public int Decided => Wins + Ties + Losses;

    /// <summary>Every judged pair, decided or not.</summary>
    public int Total => Decided + NoVerdict;

    /// <summary>More than half of the pairs have no verdict: the record says little about the models.</summary>
    public bool MostlyNoVerdict => NoVerdict * 2 > Total;

    public double WinRate => Rate(Wins);
    public double WinLow => EvaluationScores.Wilson(Wins, Decided).Low;
    public double WinHigh => EvaluationScores.Wilson(Wins, Decided).High;
    public double TieRate => Rate(Ties);
    public double LossRate => Rate(Losses);
    public double LossLow => EvaluationScores.Wilson(Losses, Decided).Low;
    public double LossHigh => EvaluationScores.Wilson(Losses, Decided).High;

    private double Rate(int n) => Decided == 0 ? 0 : (double)n / Decided;

    public static JudgeSummary Of(IReadOnlyList<JudgedPair> pairs)
    {
        int Count(PairVerdict verdict) => pairs.Count(p => p.Verdict == verdict);
        return new JudgeSummary(pairs.FirstOrDefault()?.Opponent ?? "", Count(PairVerdict.Win), Count(PairVerdict.Tie), Count(PairVerdict.Loss),
            pairs.Count(p => p.Inconsistent), Count(PairVerdict.NoVerdict),
            pairs.Where(p => p.Verdict == PairVerdict.NoVerdict).Select(p => p.NoVerdictReply).FirstOrDefault(r => r is not null));
    }
}

/// <summary>
/// "Try the judge": what the judge answered to one example before an evaluation starts. Answer A is the reference
/// itself and answer B <see cref="LlmJudge.TrialWrongAnswer"/>, so a judge that reads the prompt should say [[A]].
/// </summary>
public sealed record JudgeTrial(string Question, string Reference, string Prompt, string Reply, JudgeChoice Choice)
{
    public bool AsExpected => Choice == JudgeChoice.A;
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

    /// <summary>Answer B of <see cref="TryAsync"/>: an answer any judge should rank below the reference.</summary>
    public const string TrialWrongAnswer = "I don't know.";

    /// <summary>Asks the judge about one ordering: its verdict and its raw reply.</summary>
    public async Task<(JudgeChoice Choice, string Reply)> JudgeAsync(Guid judgeDeploymentId, string template, string question, string reference, string answerA, string answerB,
        CancellationToken cancellationToken = default)
    {
        var prompt = Render(template, question, reference, answerA, answerB);
        var reply = string.Concat(await deployments.ChatAsync(judgeDeploymentId, [new ChatTurn("user", prompt)], cancellationToken).ToListAsync(cancellationToken));
        return (Parse(reply), reply);
    }

    /// <summary>
    /// Sends one example to the judge, the reference as answer A against <see cref="TrialWrongAnswer"/> as answer B, and
    /// returns the prompt, the raw reply and the verdict read from it: a judge that answers in another format shows it
    /// here, before an evaluation spends its time.
    /// </summary>
    public async Task<JudgeTrial> TryAsync(Guid judgeDeploymentId, string template, string question, string reference, CancellationToken cancellationToken = default)
    {
        var prompt = Render(template, question, reference, reference, TrialWrongAnswer);
        var (choice, reply) = await JudgeAsync(judgeDeploymentId, template, question, reference, reference, TrialWrongAnswer, cancellationToken);
        return new JudgeTrial(question, reference, prompt, reply, choice);
    }

    /// <summary>Judges <paramref name="candidate"/> against <paramref name="opponent"/> in both orders.</summary>
    public async Task<JudgedPair> CompareAsync(Guid judgeDeploymentId, string template, string question, string reference,
        (string Name, string Answer) candidate, (string Name, string Answer) opponent, CancellationToken cancellationToken = default)
    {
        var first = await JudgeAsync(judgeDeploymentId, template, question, reference, candidate.Answer, opponent.Answer, cancellationToken);
        var second = await JudgeAsync(judgeDeploymentId, template, question, reference, opponent.Answer, candidate.Answer, cancellationToken);
        var unparsedReply = first.Choice == JudgeChoice.Unparsed ? first.Reply : second.Choice == JudgeChoice.Unparsed ? second.Reply : null;
        return new JudgedPair(opponent.Name, first.Choice, second.Choice, unparsedReply);
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
