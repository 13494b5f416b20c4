using System.Text.RegularExpressions;

namespace DeepExtension.Core.Deployment;

/// <summary>Ollama's model name rules: [namespace/]model[:tag], each part at most 80 characters.</summary>
public static partial class OllamaModelName
{
    public const int MaxPartLength = 80;

    public static string? Validate(string? name)
    {
        var text = name?.Trim() ?? "";
        if (text.Length == 0) return "The Ollama model name is required.";
        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return "Use letters, digits, '_', '-' and '.', starting with a letter or digit, optionally a namespace ('team/') and a tag (':q4_k_m').";
        }
        foreach (var part in new[] { "ns", "model", "tag" })
        {
            if (match.Groups[part].Length > MaxPartLength) return $"Each part of the name may have at most {MaxPartLength} characters.";
        }
        return null;
    }

    /// <summary>The source model's name (lowercase, cut to Ollama's limit) with the quantization as tag.</summary>
    public static string DefaultFor(string sourceName, string quantization)
    {
        var model = Regex.Replace(sourceName.ToLowerInvariant(), "[^a-z0-9_.-]", "_").TrimStart('_', '-', '.');
        if (model.Length == 0) model = "model";
        if (model.Length > MaxPartLength) model = model[..MaxPartLength].TrimEnd('_', '-', '.');
        var tag = quantization == OllamaQuantization.None ? "latest" : quantization.ToLowerInvariant();
        return $"{model}:{tag}";
    }

    /// <summary>Ollama compares names case-insensitively and reads a missing tag as "latest".</summary>
    public static string Normalize(string name)
    {
        var text = name.Trim().ToLowerInvariant();
        var slash = text.LastIndexOf('/');
        return text.IndexOf(':', slash + 1) < 0 ? text + ":latest" : text;
    }

    public static bool SameModel(string? a, string? b) =>
        a is not null && b is not null && Normalize(a) == Normalize(b);

    [GeneratedRegex(@"^(?:(?<ns>[A-Za-z0-9][A-Za-z0-9_.-]*)/)?(?<model>[A-Za-z0-9][A-Za-z0-9_.-]*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?$")]
    private static partial Regex Pattern();
}
