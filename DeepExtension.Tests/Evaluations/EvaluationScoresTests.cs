using DeepExtension.Core.Evaluations;

namespace DeepExtension.Tests.Evaluations;

// Expected ROUGE-L values: rouge-score's algorithm (tokenize.tokenize without stemmer, _score_lcs F-measure) written out
// in python3's standard library. Expected BLEU values: NLTK 3.8's sentence_bleu (Debian python3-nltk) with
// SmoothingFunction().method3 (NIST geometric smoothing, the same as sacrebleu's "exp") on the hypotheses and references
// tokenized with sacrebleu's Tokenizer13a regexes; every hypothesis has at least 4 tokens, so effective order does not
// change anything there. The short-hypothesis case is computed by hand in its test.
public class EvaluationScoresTests
{
    [Theory]
    [InlineData("The cat sat on the mat.", "The cat is on the mat.", 0.8333333333333334)]
    [InlineData("the quick brown fox jumps over the lazy dog", "the fast brown fox leaped over the dog", 0.7058823529411765)]
    [InlineData("It costs $1,000.50 in total, roughly.", "The total cost is $1,000.50.", 0.39999999999999997)]
    [InlineData("Paris is the capital of France", "Paris is the capital of France", 1.0)]
    [InlineData("completely unrelated words here", "nothing in common at all", 0.0)]
    [InlineData("...", "anything", 0.0)]
    public void RougeLF_FixedStrings_MatchesRougeScore(string answer, string reference, double expected)
    {
        Assert.Equal(expected, EvaluationScores.RougeLF(answer, reference), 12);
    }

    [Theory]
    [InlineData("The cat sat on the mat.", "The cat is on the mat.", 0.488923022434901)]
    [InlineData("the quick brown fox jumps over the lazy dog", "the fast brown fox leaped over the dog", 0.1492372948004911)]
    [InlineData("It costs $1,000.50 in total, roughly.", "The total cost is $1,000.50.", 0.11339582221952)]
    [InlineData("Paris is the capital of France", "Paris is the capital of France", 1.0)]
    [InlineData("completely unrelated words here", "nothing in common at all", 0.0)]
    public void SentenceBleu_FixedStrings_MatchesNltkWithNistSmoothing(string answer, string reference, double expected)
    {
        Assert.Equal(expected, EvaluationScores.SentenceBleu(answer, reference), 12);
    }

    [Fact]
    public void SentenceBleu_AnswerShorterThanFourTokens_UsesEffectiveOrderAndBrevityPenalty()
    {
        // Unigrams 2/2 and bigrams 1/1 match, no trigram exists: effective order 2, geometric mean 1;
        // brevity penalty exp(1 - 3/2).
        Assert.Equal(Math.Exp(1 - 3.0 / 2), EvaluationScores.SentenceBleu("the cat", "the cat sat"), 12);
        Assert.Equal(0.6065306597126334, EvaluationScores.SentenceBleu("the cat", "the cat sat"), 12);
    }

    [Fact]
    public void Tokenize13a_SplitsPunctuationButKeepsNumbers()
    {
        Assert.Equal(["It", "costs", "$", "1,000.50", "in", "total", ",", "roughly", "."], EvaluationScores.Tokenize13a("It costs $1,000.50 in total, roughly."));
    }

    [Fact]
    public void RougeTokens_LowerCasesAndDropsNonAlphanumerics()
    {
        Assert.Equal(["it", "s", "caf", "42"], EvaluationScores.RougeTokens("It's café-42!"));
    }

    [Fact]
    public void All_MatchScores_AreTheGrpoRewardFunctions()
    {
        var scores = EvaluationScores.All("So the answer is 1,000.", "1000");
        Assert.Equal(0, scores[EvaluationScores.ExactMatch]);
        Assert.Equal(0, scores[EvaluationScores.ContainsAnswer]); // "1,000" is not the text "1000"
        Assert.Equal(1, scores[EvaluationScores.NumericMatch]);
        Assert.Equal(5, scores[EvaluationScores.AnswerWords]);
        Assert.Equal(EvaluationScores.Names.Order(), scores.Keys.Order());
    }

    [Theory]
    // python3: p=s/n; d=1+z²/n; c=(p+z²/2n)/d; h=z·sqrt(p(1-p)/n+z²/4n²)/d with z=1.96
    [InlineData(7, 10, 0.39677321997956516, 0.892210712513788)]
    [InlineData(0, 5, 0.0, 0.43449149475208104)]
    [InlineData(3.5, 8, 0.17449559995652003, 0.7410563524823395)]
    public void Wilson_KnownCounts_MatchesHandComputedInterval(double successes, int trials, double low, double high)
    {
        var (l, h) = EvaluationScores.Wilson(successes, trials);
        Assert.Equal(low, l, 12);
        Assert.Equal(high, h, 12);
    }

    [Fact]
    public void Mean_NoValues_IsNull()
    {
        Assert.Null(EvaluationScores.Mean([]));
        Assert.Equal(2.5, EvaluationScores.Mean([1, 2, 3, 4]));
    }
}
