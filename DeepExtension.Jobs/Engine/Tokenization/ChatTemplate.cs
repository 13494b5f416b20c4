using System.Text.Json;
using System.Text.RegularExpressions;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Jobs.Engine.Tokenization.Jinja;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// A Hugging Face chat template, rendered by this project's own Jinja interpreter with the settings of
/// transformers' apply_chat_template (trim_blocks, lstrip_blocks, loop controls, HF's tojson,
/// raise_exception and strftime_now). Parsing happens once, here; errors name the template line.
/// </summary>
public sealed partial class ChatTemplate
{
    private readonly IReadOnlyList<Statement> _template;
    private readonly IReadOnlyDictionary<string, string> _specialTokens;

    /// <param name="source">The Jinja text.</param>
    /// <param name="specialTokens">Named special tokens (bos_token, eos_token, …) the template may print.</param>
    /// <exception cref="TemplateSyntaxException">The text is not a template this interpreter can run.</exception>
    public ChatTemplate(string source, IReadOnlyDictionary<string, string>? specialTokens = null)
    {
        Source = source;
        _specialTokens = specialTokens ?? new Dictionary<string, string>();
        _template = JinjaParser.Parse(source);
    }

    public string Source { get; }

    /// <summary>Where <c>strftime_now</c> reads the time (a fixed clock makes renders reproducible).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>
    /// The template of a model folder: chat_template.jinja if present (transformers' current format), else
    /// tokenizer_config.json's "chat_template" (a string, or a list of named templates where "default" is taken),
    /// with the folder's named special tokens.
    /// </summary>
    public static ChatTemplate Load(string modelDirectory)
    {
        var configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        using var config = File.Exists(configPath) ? JsonDocument.Parse(File.ReadAllText(configPath)) : JsonDocument.Parse("{}");
        var jinjaPath = Path.Combine(modelDirectory, "chat_template.jinja");
        var source = File.Exists(jinjaPath)
            ? File.ReadAllText(jinjaPath)
            : TemplateFromConfig(config.RootElement)
              ?? throw new FileNotFoundException($"No chat template in {modelDirectory}: neither chat_template.jinja nor tokenizer_config.json's chat_template.");
        return new ChatTemplate(source, SpecialTokens.NamedTokens(config.RootElement));
    }

    /// <summary>Renders a conversation as transformers' apply_chat_template(tokenize=False) does.</summary>
    /// <param name="tools">JSON schemas of the tools; the template sees None when null.</param>
    /// <param name="extra">Further template variables (e.g. enable_thinking); they override the others.</param>
    /// <exception cref="TemplateRaisedException">The template called raise_exception; Message is its text.</exception>
    /// <exception cref="TemplateRuntimeException">Rendering failed; the message names the template line.</exception>
    public string Render(
        IReadOnlyList<ChatMessage> messages,
        bool addGenerationPrompt,
        IReadOnlyList<JsonElement>? tools = null,
        IDictionary<string, object?>? extra = null) =>
        RenderOutput(messages, addGenerationPrompt, tools, extra).Text.ToString();

    /// <summary>Whether the template marks assistant text with {% generation %} blocks (as HF checks it).</summary>
    public bool HasGenerationBlocks => GenerationTag().IsMatch(Source);

    /// <summary>The rendering and the character spans of its {% generation %} blocks, for assistant masks.</summary>
    internal (string Text, IReadOnlyList<(int Start, int End)> GenerationSpans) RenderWithGenerationSpans(
        IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools)
    {
        var output = RenderOutput(messages, addGenerationPrompt: false, tools, extra: null);
        return (output.Text.ToString(), output.GenerationSpans);
    }

    private TemplateOutput RenderOutput(
        IReadOnlyList<ChatMessage> messages,
        bool addGenerationPrompt,
        IReadOnlyList<JsonElement>? tools,
        IDictionary<string, object?>? extra)
    {
        var globals = JinjaGlobals.Create(Clock);
        foreach (var (name, token) in _specialTokens) globals.Assign(name, token);
        globals.Assign("messages", new List<object?>(messages.Select(ToValue)));
        globals.Assign("tools", tools is null ? null : new List<object?>(tools.Select(JinjaValueConversion.FromJson)));
        globals.Assign("documents", null);
        globals.Assign("add_generation_prompt", addGenerationPrompt);
        foreach (var (name, value) in extra ?? new Dictionary<string, object?>())
            globals.Assign(name, JinjaValueConversion.FromDotNet(value));
        return JinjaRenderer.Render(_template, globals);
    }

    [GeneratedRegex(@"\{%-?\s*generation\s*-?%\}")]
    private static partial Regex GenerationTag();

    private static OrderedDictionary<string, object?> ToValue(ChatMessage message)
    {
        var dict = new OrderedDictionary<string, object?> { ["role"] = message.Role, ["content"] = message.Content };
        foreach (var (name, value) in message.Fields) dict[name] = JinjaValueConversion.FromJson(value);
        return dict;
    }

    private static string? TemplateFromConfig(JsonElement config)
    {
        if (!config.TryGetProperty("chat_template", out var template)) return null;
        if (template.ValueKind == JsonValueKind.String) return template.GetString();
        if (template.ValueKind != JsonValueKind.Array) return null;
        return template.EnumerateArray()
            .Where(t => t.GetProperty("name").GetString() == "default")
            .Select(t => t.GetProperty("template").GetString())
            .FirstOrDefault();
    }

}
