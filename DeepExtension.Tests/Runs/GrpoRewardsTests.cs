using DeepExtension.Jobs.Runs.Training;

namespace DeepExtension.Tests.Runs;

public class GrpoRewardsTests
{
    [Theory]
    [InlineData("Paris", "Paris", 1)]
    [InlineData("  the   Big\nApple ", "The big apple", 1)]
    [InlineData("Paris.", "Paris", 0)]
    [InlineData("It is Paris", "Paris", 0)]
    public void ExactMatch_NormalisesWhitespaceAndCaseOnly(string completion, string reference, double expected)
    {
        Assert.Equal(expected, GrpoRewards.Score(GrpoRewards.ExactMatch, completion, reference));
    }

    [Theory]
    [InlineData("The capital is PARIS.", "Paris", 1)]
    [InlineData("It is new\n  york", "New York", 1)]
    [InlineData("The capital is Lyon.", "Paris", 0)]
    [InlineData("anything", "   ", 0)]
    public void ContainsAnswer_ReferenceInsideCompletion_ScoresOne(string completion, string reference, double expected)
    {
        Assert.Equal(expected, GrpoRewards.Score(GrpoRewards.ContainsAnswer, completion, reference));
    }

    [Theory]
    [InlineData("So 2 + 2 = 4, the answer is 1,000", "1000", 1)]
    [InlineData("The result is 3.0", "3", 1)]
    [InlineData("x = -2.50", "-2.5", 1)]
    [InlineData("It is 12,345,678.", "12345678", 1)]
    [InlineData("The answer is 4, not 5", "4", 0)]
    [InlineData("no number here", "4", 0)]
    [InlineData("4", "four", 0)]
    public void NumericMatch_ComparesTheLastNumberByValue(string completion, string reference, double expected)
    {
        Assert.Equal(expected, GrpoRewards.Score(GrpoRewards.NumericMatch, completion, reference));
    }

    [Theory]
    [InlineData("<think>2 and 2 make 4</think> 4", 1)]
    [InlineData("\n<think>\nsteps\n</think>\nThe answer is 4.", 1)]
    [InlineData("<think>only thinking</think>   ", 0)]
    [InlineData("4 <think>late</think> 4", 0)]
    [InlineData("<think>never closed 4", 0)]
    public void FormatThink_NeedsAThinkBlockThenAnAnswer(string completion, double expected)
    {
        Assert.Equal(expected, GrpoRewards.Score(GrpoRewards.FormatThink, completion, "unused"));
    }

    [Fact]
    public void Total_SeveralFunctions_SumsTheirScores()
    {
        var total = GrpoRewards.Total([GrpoRewards.ExactMatch, GrpoRewards.ContainsAnswer, GrpoRewards.NumericMatch], "42", "42");

        Assert.Equal(3, total);
    }

    [Fact]
    public void Score_UnknownFunction_Throws()
    {
        Assert.Throws<ArgumentException>(() => GrpoRewards.Score("length", "a", "b"));
    }
}
