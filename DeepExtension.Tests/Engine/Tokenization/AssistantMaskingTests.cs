using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Engine.Tokenization;

public class AssistantMaskingTests
{
    private const int Ignore = SupervisedExample.IgnoreIndex;

    private static readonly ChatMessage[] TwoTurns =
    [
        new("system", "You are terse."),
        new("user", "What is 2+2?"),
        new("assistant", "4"),
        new("user", "And 3+3?"),
        new("assistant", "It is 6."),
    ];

    [Fact]
    public void Tokenize_TinyTokenizerConversation_LabelsExactlyTheAssistantTurns()
    {
        // <bos> opens a user turn, <tool> an assistant turn, <eos> closes either.
        var template = new ChatTemplate(
            "{% for m in messages %}{{ '<bos>' if m.role == 'user' else '<tool>' }}{{ m.content }}<eos>{% endfor %}" +
            "{% if add_generation_prompt %}<tool>{% endif %}");
        var masking = new AssistantMasking(HfTokenizer.FromJson(TinyTokenizer.Json().ToJsonString(), null), template);

        var example = masking.Tokenize([new("user", "ab"), new("assistant", "ba a"), new("user", "a"), new("assistant", "b")]);

        Assert.Equal([1, 6, 0, 2, 4, 3, 7, 0, 1, 3, 0, 2, 4, 0], example.InputIds);
        Assert.Equal([Ignore, Ignore, Ignore, Ignore, 4, 3, 7, 0, Ignore, Ignore, Ignore, Ignore, 4, 0], example.Labels);
    }

    [Fact]
    public void Tokenize_TemplateThatRewritesEarlierTurns_ThrowsNamingTheMessage()
    {
        var template = new ChatTemplate("{{ messages | length }}{% for m in messages %}{{ m.content }}{% endfor %}");
        var masking = new AssistantMasking(HfTokenizer.FromJson(TinyTokenizer.Json().ToJsonString(), null), template);

        var error = Assert.Throws<InvalidOperationException>(() => masking.Tokenize([new("user", "a"), new("assistant", "b")]));

        Assert.Contains("message 1", error.Message);
    }

    [Fact]
    public void Tokenize_TemplateWithGenerationBlocks_LabelsWhatTheBlocksMark()
    {
        // Prefix rendering would fail here (the opening changes), but the blocks say where assistant text is.
        var template = new ChatTemplate(
            "{{ 'ab' if messages | length > 1 else 'a' }}{% for m in messages %}{% if m.role == 'user' %}<bos>{{ m.content }}{% else %}" +
            "<tool>{% generation %}{{ m.content }}<eos>{% endgeneration %}{% endif %}{% endfor %}");
        var masking = new AssistantMasking(HfTokenizer.FromJson(TinyTokenizer.Json().ToJsonString(), null), template);

        var example = masking.Tokenize([new("user", "a"), new("assistant", "ab")]);

        Assert.True(template.HasGenerationBlocks);
        Assert.Equal([6, 1, 3, 2, 6, 0], example.InputIds);
        Assert.Equal([Ignore, Ignore, Ignore, Ignore, 6, 0], example.Labels);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Tokenize_ReferenceFolder_InputIsTheRenderedConversationAndLabelsCoverOnlyAssistantText(string model)
    {
        var folder = ReferenceModels.PathOf(model);
        var tokenizer = HfTokenizer.Load(folder);
        var template = ChatTemplate.Load(folder);

        var example = new AssistantMasking(tokenizer, template).Tokenize(TwoTurns);

        Assert.Equal(tokenizer.Encode(template.Render(TwoTurns, addGenerationPrompt: false)), example.InputIds);
        Assert.All(example.InputIds.Zip(example.Labels), pair => Assert.Contains(pair.Second, new[] { Ignore, pair.First }));
        var learned = tokenizer.Decode(example.Labels.Where(l => l != Ignore));
        Assert.Equal(AssistantIncrements(template, TwoTurns), learned);
        Assert.Contains("It is 6.", learned);
        Assert.DoesNotContain("What is 2+2?", learned);
    }

    // What each assistant message adds to the rendering, after the prompt that asks for it.
    private static string AssistantIncrements(ChatTemplate template, IReadOnlyList<ChatMessage> messages) => string.Concat(
        messages.Select((m, i) => (m, i)).Where(p => p.m.Role == "assistant").Select(p =>
            template.Render(messages.Take(p.i + 1).ToList(), addGenerationPrompt: false)[
                template.Render(messages.Take(p.i).ToList(), addGenerationPrompt: true).Length..]));
}
