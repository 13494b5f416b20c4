using System.Text.RegularExpressions;

namespace DeepExtension.Core.BaseModels;

/// <summary>
/// The Ollama prompt template (a Go text/template) used when a model built on this base is deployed.
/// Users may paste the template itself or a whole Modelfile; from a Modelfile only TEMPLATE is kept.
/// </summary>
public static partial class DeploymentTemplate
{
    public const int MaxLength = 64 * 1024;

    public static (string? Template, string? Error) Parse(string? content)
    {
        var text = (content ?? "").Replace("\r\n", "\n");
        if (string.IsNullOrWhiteSpace(text)) return (null, null);
        if (text.Length > MaxLength) return (null, $"The deployment template is too large (at most {MaxLength / 1024} KB).");

        var template = LooksLikeModelfile(text) ? ExtractTemplateDirective(text) : text;
        if (template is null)
        {
            return (null, "This looks like a Modelfile but it has no TEMPLATE instruction.");
        }

        var opens = OpenAction().Matches(template).Count;
        var closes = CloseAction().Matches(template).Count;
        if (opens != closes)
        {
            return (null, $"The template's actions are unbalanced: {opens} '{{{{' against {closes} '}}}}'.");
        }
        if (!template.Contains(".Prompt", StringComparison.Ordinal) && !template.Contains(".Messages", StringComparison.Ordinal))
        {
            return (null, "The template never uses .Prompt or .Messages, so a deployed model would not see the conversation.");
        }
        return (template, null);
    }

    private static bool LooksLikeModelfile(string text) =>
        ModelfileInstruction().IsMatch(text);

    private static string? ExtractTemplateDirective(string modelfile)
    {
        var triple = TripleQuoted().Match(modelfile);
        if (triple.Success) return triple.Groups["body"].Value;
        var single = SingleQuoted().Match(modelfile);
        if (single.Success) return Regex.Unescape(single.Groups["body"].Value);
        var bare = BareLine().Match(modelfile);
        return bare.Success ? bare.Groups["body"].Value.Trim() : null;
    }

    [GeneratedRegex(@"^\s*(FROM|PARAMETER|SYSTEM|TEMPLATE|ADAPTER|LICENSE|MESSAGE)\s", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex ModelfileInstruction();

    [GeneratedRegex("^\\s*TEMPLATE\\s+\"\"\"(?<body>.*?)\"\"\"", RegexOptions.Multiline | RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex TripleQuoted();

    [GeneratedRegex("^\\s*TEMPLATE\\s+\"(?<body>(?:[^\"\\\\]|\\\\.)*)\"", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex SingleQuoted();

    [GeneratedRegex(@"^\s*TEMPLATE\s+(?<body>[^""\n].*)$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex BareLine();

    [GeneratedRegex(@"\{\{")]
    private static partial Regex OpenAction();

    [GeneratedRegex(@"\}\}")]
    private static partial Regex CloseAction();
}
