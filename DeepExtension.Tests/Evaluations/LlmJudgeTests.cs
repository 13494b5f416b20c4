using System.Text.RegularExpressions;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Evaluations;

public partial class LlmJudgeTests
{
    [Theory]
    [InlineData("A is closer to the reference. [[A]]", JudgeChoice.A)]
    [InlineData("Both are fine.\n\n[[C]]", JudgeChoice.Tie)]
    [InlineData("Hmm [[A]] ... on reflection: [[ b ]]", JudgeChoice.B)]
    [InlineData("[[Tie]]", JudgeChoice.Tie)]
    [InlineData("The second answer is right. Verdict: B", JudgeChoice.B)]
    [InlineData("**Final verdict:** Assistant A", JudgeChoice.A)]
    [InlineData("I cannot decide.", JudgeChoice.Unparsed)]
    public void Parse_JudgeReplies_ReadsTheLastVerdict(string reply, JudgeChoice expected)
    {
        Assert.Equal(expected, LlmJudge.Parse(reply));
    }

    [Theory]
    [InlineData(JudgeChoice.A, JudgeChoice.B, PairVerdict.Win)]
    [InlineData(JudgeChoice.B, JudgeChoice.A, PairVerdict.Loss)]
    [InlineData(JudgeChoice.A, JudgeChoice.A, PairVerdict.Tie)]
    [InlineData(JudgeChoice.B, JudgeChoice.B, PairVerdict.Tie)]
    [InlineData(JudgeChoice.Tie, JudgeChoice.B, PairVerdict.Tie)]
    [InlineData(JudgeChoice.Unparsed, JudgeChoice.B, PairVerdict.NoVerdict)]
    [InlineData(JudgeChoice.Tie, JudgeChoice.Unparsed, PairVerdict.NoVerdict)]
    [InlineData(JudgeChoice.Unparsed, JudgeChoice.Unparsed, PairVerdict.NoVerdict)]
    public void Verdict_BothOrders_WinsOnlyWhenPreferredInEach(JudgeChoice candidateFirst, JudgeChoice candidateSecond, PairVerdict expected)
    {
        Assert.Equal(expected, new JudgedPair("base", candidateFirst, candidateSecond).Verdict);
    }

    [Fact]
    public async Task JudgeAllAsync_ScriptedPositionBiasedJudge_BiasCancelsAndWinRateIsTwoOfFive()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (deployments, judge) = await DeploymentFixture.DeployedAsync(env, ollama, name: "judge:q8_0");
        // The judge prefers the answer that contains the reference; when both or neither do, it picks whichever came
        // first (position bias). It states a preference for B without brackets, to exercise the fallback parsing.
        ollama.ChatReply = (_, prompt) =>
        {
            var reference = Section(prompt, "Reference Answer");
            var a = Section(prompt, "Assistant A's Answer").Contains(reference, StringComparison.Ordinal);
            var b = Section(prompt, "Assistant B's Answer").Contains(reference, StringComparison.Ordinal);
            return b && !a ? "The second answer matches the reference. Verdict: B" : "Answer A is at least as good.\n\n[[A]]";
        };
        string[] models = ["base", "tuned"];
        EvaluationExample Example(int i, string reference, string baseAnswer, string tunedAnswer) =>
            new(i, [new DatasetMessage("user", $"question {i}")], reference, new Dictionary<string, ModelAnswer>
            {
                ["base"] = new(baseAnswer, 1, true, new Dictionary<string, double>(), null, 0),
                ["tuned"] = new(tunedAnswer, 1, true, new Dictionary<string, double>(), null, 0),
            });
        EvaluationExample[] examples =
        [
            Example(0, "42", "It is 41.", "It is 42."),     // tuned right: A then B → win
            Example(1, "Paris", "Lyon", "Paris"),            // win
            Example(2, "7", "7", "7, clearly"),              // both right: A, A → tie (the bias cancels)
            Example(3, "blue", "blue", "green"),             // base right: B then A → loss
            Example(4, "x", "no", "none"),                   // neither: A, A → tie
        ];
        var progress = new List<int>();

        var judged = await new LlmJudge(deployments).JudgeAllAsync(judge.Id, LlmJudge.DefaultPrompt, examples, models, progress.Add);

        Assert.Equal([PairVerdict.Win, PairVerdict.Win, PairVerdict.Tie, PairVerdict.Loss, PairVerdict.Tie], judged.Select(e => e.Judge!["tuned"].Verdict));
        Assert.Equal(new JudgedPair("base", JudgeChoice.A, JudgeChoice.A), judged[2].Judge!["tuned"]);
        Assert.Equal(new JudgedPair("base", JudgeChoice.B, JudgeChoice.A), judged[3].Judge!["tuned"]);
        Assert.Equal([1, 2, 3, 4, 5], progress);
        Assert.Equal(10, ollama.Requests.Count(r => r.Contains("/api/chat", StringComparison.Ordinal)));

        var summary = EvaluationResults.Aggregate(judged, models).Single(a => a.Model == "tuned").Judge!;
        Assert.Equal((2, 2, 1, 2, 0), (summary.Wins, summary.Ties, summary.Losses, summary.Inconsistent, summary.NoVerdict));
        Assert.Equal(0.4, summary.WinRate, 12);
        // Wilson 95 % of 2/5 and 1/5, from python3 (see EvaluationScoresTests for the formula).
        Assert.Equal(0.1176182311592533, summary.WinLow, 12);
        Assert.Equal(0.769280067791163, summary.WinHigh, 12);
        Assert.Equal(0.2, summary.LossRate, 12);
        Assert.Equal(0.03622316096978745, summary.LossLow, 12);
        Assert.Null(EvaluationResults.Aggregate(judged, models).Single(a => a.Model == "base").Judge);
    }

    [Fact]
    public async Task JudgeAllAsync_JudgeThatNeverAnswersInFormat_CountsNoVerdictApartAndKeepsOneReply()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (deployments, judge) = await DeploymentFixture.DeployedAsync(env, ollama, name: "judge:q8_0");
        // Answers the first order of examples 0 and 1 properly ([[A]] then [[B]]: the candidate wins both), rambles otherwise.
        var calls = 0;
        ollama.ChatReply = (_, _) => calls++ switch
        {
            0 or 2 => "[[A]]",
            1 or 3 => "[[B]]",
            _ => $"Reply {calls}: both answers have merit.",
        };
        string[] models = ["base", "tuned"];
        var examples = Enumerable.Range(0, 5).Select(i => new EvaluationExample(i, [new DatasetMessage("user", $"question {i}")], "42",
            new Dictionary<string, ModelAnswer>
            {
                ["base"] = new("41", 1, true, new Dictionary<string, double>(), null, 0),
                ["tuned"] = new("42", 1, true, new Dictionary<string, double>(), null, 0),
            })).ToList();

        var judged = await new LlmJudge(deployments).JudgeAllAsync(judge.Id, LlmJudge.DefaultPrompt, examples, models);

        Assert.Equal([PairVerdict.Win, PairVerdict.Win, PairVerdict.NoVerdict, PairVerdict.NoVerdict, PairVerdict.NoVerdict],
            judged.Select(e => e.Judge!["tuned"].Verdict));
        Assert.Equal("Reply 5: both answers have merit.", judged[2].Judge!["tuned"].NoVerdictReply);
        var summary = EvaluationResults.Aggregate(judged, models).Single(a => a.Model == "tuned").Judge!;
        Assert.Equal((2, 0, 0, 3, 2, 5), (summary.Wins, summary.Ties, summary.Losses, summary.NoVerdict, summary.Decided, summary.Total));
        Assert.True(summary.MostlyNoVerdict);
        Assert.Equal("Reply 5: both answers have merit.", summary.NoVerdictReply);
        // Out of the 2 decided pairs only: Wilson 95 % of 2/2.
        Assert.Equal(1.0, summary.WinRate, 12);
        Assert.Equal(EvaluationScores.Wilson(2, 2), (summary.WinLow, summary.WinHigh));
        Assert.Contains("no verdict", EvaluationResults.ToCsv(judged, models).Split('\n')[6]);
    }

    [Fact]
    public void Aggregates_StoredBeforeNoVerdictWasCounted_ReadWithoutTheUnparsedPairsAmongTheTies()
    {
        var evaluation = new Evaluation
        {
            Name = "older",
            AggregatesJson = """[{"model":"tuned","examples":5,"means":{},"mean_loss":null,"perplexity":null,"mean_answer_tokens":3,"judge":{"opponent":"base","wins":0,"ties":5,"losses":0,"inconsistent":0,"unparsed":5,"win_rate":0,"win_low":0,"win_high":0.43,"tie_rate":1,"loss_rate":0,"loss_low":0,"loss_high":0.43}}]""",
        };

        var judge = evaluation.Aggregates.Single().Judge!;

        Assert.Equal((0, 0, 0, 5, 0), (judge.Wins, judge.Ties, judge.Losses, judge.NoVerdict, judge.Decided));
        Assert.True(judge.MostlyNoVerdict);
        var roundTrip = new Evaluation { Name = "again", Aggregates = evaluation.Aggregates }.Aggregates.Single().Judge!;
        Assert.Equal((0, 0, 5), (roundTrip.Ties, roundTrip.Decided, roundTrip.NoVerdict));
    }

    private static string Section(string prompt, string title) =>
        Regex.Match(prompt, $@"\[The Start of {Regex.Escape(title)}\]\n(.*?)\n\[The End of {Regex.Escape(title)}\]", RegexOptions.Singleline).Groups[1].Value;
}
