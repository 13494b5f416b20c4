using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;

namespace DeepExtension.Tests.Evaluations;

/// <summary>The evaluation CSV (the only CSV the console writes) opened in a spreadsheet: text that looks like a formula stays text.</summary>
public sealed class CsvExportTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://evil.test\",\"x\")")]
    [InlineData("+1+cmd|' /C calc'!A0")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1:A2)")]
    [InlineData("\t=1+1")]
    [InlineData("\r=1+1")]
    public void ToCsv_TextBeginningLikeAFormula_IsNeutralised(string hostile)
    {
        var example = new EvaluationExample(7, [new DatasetMessage(DatasetRoles.User, hostile)], hostile, new Dictionary<string, ModelAnswer>
        {
            ["tiny"] = new(hostile, 3, true, new Dictionary<string, double>(), -0.25, 3),
        });

        var csv = EvaluationResults.ToCsv([example], ["tiny"]);

        var neutralised = "\"'" + hostile.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var row = csv[(csv.IndexOf('\n') + 1)..];
        // Question, reference and answer: each cell starts with an apostrophe inside quotes; nothing starts with the formula.
        Assert.Equal($"7,tiny,{neutralised},{neutralised},{neutralised},3,true,-0.25,", row[..(row.IndexOf(",-0.25,", StringComparison.Ordinal) + 7)]);
        Assert.DoesNotContain("," + hostile, csv);
    }

    [Fact]
    public void ToCsv_OrdinaryText_IsWrittenAsItIs()
    {
        var example = new EvaluationExample(1, [new DatasetMessage(DatasetRoles.User, "What's 2 - 1?")], "1", new Dictionary<string, ModelAnswer>
        {
            ["tiny"] = new("It is 1, I think", 5, false, new Dictionary<string, double>(), null, 0),
        });

        var csv = EvaluationResults.ToCsv([example], ["tiny"]);

        Assert.Contains("\n1,tiny,What's 2 - 1?,1,\"It is 1, I think\",5,false,,", csv);
    }
}
