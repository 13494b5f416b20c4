using DeepExtension.Core.Datasets;
using static DeepExtension.Tests.Support.DatasetFiles;

namespace DeepExtension.Tests.Core;

public class DatasetReaderTests
{
    [Fact]
    public async Task Read_Alpaca_BecomesSystemUserAssistantMessages()
    {
        var examples = await ReadAsync("a.jsonl", Lines(
            """{"instruction":"Translate","input":"Hallo","output":"Hello","system":"You translate."}""",
            """{"instruction":"Greet","input":"","output":"Hi"}"""), DatasetFormat.Alpaca);

        var first = Assert.IsType<SftExample>(examples[0]);
        Assert.Equal(
        [
            new DatasetMessage("system", "You translate."),
            new DatasetMessage("user", "Translate\n\nHallo"),
            new DatasetMessage("assistant", "Hello"),
        ], first.Messages);
        Assert.Equal([new DatasetMessage("user", "Greet"), new DatasetMessage("assistant", "Hi")], ((SftExample)examples[1]).Messages);
        Assert.Equal([0L, 1L], examples.Select(e => e.Index));
        Assert.Equal([1, 2], examples.Select(e => e.Line));
    }

    [Fact]
    public async Task Read_ShareGpt_MapsHumanGptAndSystemToChatRoles()
    {
        var examples = await ReadAsync("s.json", """
            [{"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "U"}, {"from": "gpt", "value": "A"}]}]
            """, DatasetFormat.ShareGpt);

        Assert.Equal([new DatasetMessage("system", "S"), new DatasetMessage("user", "U"), new DatasetMessage("assistant", "A")],
            Assert.IsType<SftExample>(Assert.Single(examples)).Messages);
    }

    [Fact]
    public async Task Read_PreferenceTextAndImplicitPrompt_SplitPromptFromTheContinuations()
    {
        var examples = await ReadAsync("p.jsonl", Lines(
            """{"prompt":"Q","chosen":"good","rejected":"bad"}""",
            """{"chosen":[{"role":"user","content":"Q"},{"role":"assistant","content":"good"}],"rejected":[{"role":"user","content":"Q"},{"role":"assistant","content":"bad"}]}"""),
            DatasetFormat.Preference);

        foreach (var example in examples.Cast<PreferenceExample>())
        {
            Assert.Equal([new DatasetMessage("user", "Q")], example.Prompt);
            Assert.Equal([new DatasetMessage("assistant", "good")], example.Chosen);
            Assert.Equal([new DatasetMessage("assistant", "bad")], example.Rejected);
        }
    }

    [Fact]
    public async Task Read_PromptAnswerWithNumericSolution_KeepsTheAnswerText()
    {
        var examples = await ReadAsync("g.csv", "prompt,solution\n\"What is 6*7?\",42\n", DatasetFormat.PromptAnswer);

        var example = Assert.IsType<PromptAnswerExample>(Assert.Single(examples));
        Assert.Equal([new DatasetMessage("user", "What is 6*7?")], example.Prompt);
        Assert.Equal("42", example.Answer);
    }

    [Fact]
    public async Task Read_ChatMessages_KeepsRolesAndContent()
    {
        var examples = await ReadAsync("c.jsonl", Lines(
            """{"messages":[{"role":"user","content":"U"},{"role":"assistant","content":"A"},{"role":"tool","content":"T"},{"role":"assistant","content":"B"}]}"""),
            DatasetFormat.Chat);

        Assert.Equal(["user", "assistant", "tool", "assistant"], ((SftExample)examples[0]).Messages.Select(m => m.Role));
    }
}
