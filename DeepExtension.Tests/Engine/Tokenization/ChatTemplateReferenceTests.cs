using System.Text.Json;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Tokenization.Jinja;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>Rendering against what transformers' apply_chat_template produced.</summary>
public class ChatTemplateReferenceTests
{
    // The conversation the reference generator applied each folder's template to (README: system, user, assistant).
    private static readonly ChatMessage[] ReferenceConversation =
    [
        new("system", "You are terse."),
        new("user", "What is 2+2?"),
        new("assistant", "4"),
    ];

    /// <summary>xunit member data: the index of every case in chat-templates.json.</summary>
    public static TheoryData<int> CaseIndices
    {
        get
        {
            var data = new TheoryData<int>();
            for (var i = 0; i < ChatTemplateCases().GetArrayLength(); i++) data.Add(i);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Render_ChatTemplatesCase_GivesTransformersTextOrError(int index)
    {
        using var file = JsonDocument.Parse(File.ReadAllText(ReferenceModels.ChatTemplatesFile));
        var root = file.RootElement;
        var @case = root.GetProperty("cases")[index];
        var template = new ChatTemplate(
            root.GetProperty("templates").GetProperty(@case.GetProperty("template").GetString()!).GetString()!,
            new Dictionary<string, string>
            {
                ["bos_token"] = root.GetProperty("bos_token").GetString()!,
                ["eos_token"] = root.GetProperty("eos_token").GetString()!,
            });
        var messages = @case.GetProperty("messages").EnumerateArray().Select(ChatMessage.FromJson).ToList();
        var tools = @case.GetProperty("tools") is { ValueKind: JsonValueKind.Array } list ? list.EnumerateArray().ToList() : null;
        var addGenerationPrompt = @case.GetProperty("add_generation_prompt").GetBoolean();

        string Render() => template.Render(messages, addGenerationPrompt, tools);

        if (@case.TryGetProperty("error", out var error))
            Assert.Equal(error.GetString(), Assert.Throws<TemplateRaisedException>(Render).Message);
        else
            Assert.Equal(@case.GetProperty("text").GetString(), Render());
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Render_ReferenceFolderTemplate_GivesChatTemplateText(string model)
    {
        var template = ChatTemplate.Load(ReferenceModels.PathOf(model));

        var text = template.Render(ReferenceConversation, addGenerationPrompt: false);

        Assert.Equal(ReferenceTokenizerData.Load(model).ChatTemplateText, text);
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void RenderThenEncode_ReferenceFolder_GivesChatTemplateIds(string model)
    {
        var folder = ReferenceModels.PathOf(model);

        var ids = HfTokenizer.Load(folder).Encode(ChatTemplate.Load(folder).Render(ReferenceConversation, addGenerationPrompt: false));

        Assert.Equal(ReferenceTokenizerData.Load(model).ChatTemplateIds, ids);
    }

    private static JsonElement ChatTemplateCases()
    {
        using var file = JsonDocument.Parse(File.ReadAllText(ReferenceModels.ChatTemplatesFile));
        return file.RootElement.GetProperty("cases").Clone();
    }
}
