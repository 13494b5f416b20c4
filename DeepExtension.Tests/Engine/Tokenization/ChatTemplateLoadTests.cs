using System.Text.Json.Nodes;
using DeepExtension.Jobs.Engine.Tokenization;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>Where <see cref="ChatTemplate.Load"/> finds a model folder's template and special tokens.</summary>
public sealed class ChatTemplateLoadTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepx-chat-template-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void WriteConfig(JsonObject config) => File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"), config.ToJsonString());

    private static readonly ChatMessage[] Hello = [new("user", "hello")];

    [Fact]
    public void Load_ConfigWithTemplateString_UsesItWithTheConfigsTokens()
    {
        WriteConfig(new JsonObject
        {
            ["chat_template"] = "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}",
            ["bos_token"] = new JsonObject { ["content"] = "<bos>", ["__type"] = "AddedToken" },
            ["eos_token"] = "<eos>",
        });

        Assert.Equal("<bos>hello<eos>", ChatTemplate.Load(_folder).Render(Hello, addGenerationPrompt: false));
    }

    [Fact]
    public void Load_ConfigWithNamedTemplates_PicksDefault()
    {
        WriteConfig(new JsonObject
        {
            ["chat_template"] = new JsonArray(
                new JsonObject { ["name"] = "tool_use", ["template"] = "tools" },
                new JsonObject { ["name"] = "default", ["template"] = "default: {{ messages[0].content }}" }),
        });

        Assert.Equal("default: hello", ChatTemplate.Load(_folder).Render(Hello, addGenerationPrompt: false));
    }

    [Fact]
    public void Load_JinjaFileBesideConfigTemplate_PrefersTheJinjaFile()
    {
        WriteConfig(new JsonObject { ["chat_template"] = "from config" });
        File.WriteAllText(Path.Combine(_folder, "chat_template.jinja"), "from file\n");

        Assert.Equal("from file", ChatTemplate.Load(_folder).Render(Hello, addGenerationPrompt: false));
    }

    [Fact]
    public void Load_FolderWithoutTemplate_ThrowsFileNotFound()
    {
        WriteConfig(new JsonObject { ["eos_token"] = "<eos>" });

        Assert.Throws<FileNotFoundException>(() => ChatTemplate.Load(_folder));
    }
}
