using System.Text.Json;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Tokenization.Jinja;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>
/// A file in the layout of reference-models/chat-templates.json: bos_token, eos_token, templates by name,
/// and cases (template, messages, add_generation_prompt, tools, then the expected text or error).
/// </summary>
internal static class ChatTemplateCaseFile
{
    public static TheoryData<int> Indices(string path)
    {
        using var file = JsonDocument.Parse(File.ReadAllText(path));
        var data = new TheoryData<int>();
        for (var i = 0; i < file.RootElement.GetProperty("cases").GetArrayLength(); i++) data.Add(i);
        return data;
    }

    /// <summary>Renders case <paramref name="index"/> and asserts its text, or that it raises its error.</summary>
    public static void AssertCase(string path, int index)
    {
        using var file = JsonDocument.Parse(File.ReadAllText(path));
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
}
