using DeepExtension.Jobs.Engine.Tokenization;
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

    public static TheoryData<int> ReferenceCases => ChatTemplateCaseFile.Indices(ReferenceModels.ChatTemplatesFile);

    /// <summary>Templates in the style of further model families (Qwen3, Llama-3.1, Mistral, Gemma), rendered by Jinja2.</summary>
    public static TheoryData<int> FamilyCases => ChatTemplateCaseFile.Indices(FamilyCasesFile);

    private static string FamilyCasesFile => Path.Combine(AppContext.BaseDirectory, "TestData", "jinja-chat-templates.json");

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Render_ChatTemplatesCase_GivesTransformersTextOrError(int index) =>
        ChatTemplateCaseFile.AssertCase(ReferenceModels.ChatTemplatesFile, index);

    [Theory]
    [MemberData(nameof(FamilyCases))]
    public void Render_FamilyTemplateCase_GivesJinjaTextOrError(int index) =>
        ChatTemplateCaseFile.AssertCase(FamilyCasesFile, index);

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
}
