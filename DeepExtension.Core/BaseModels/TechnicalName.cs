using System.Text.RegularExpressions;

namespace DeepExtension.Core.BaseModels;

/// <summary>
/// Rules for a base model's technical name. It becomes part of generated model names
/// ([technical]_[train]_[date]_[id]), folder names and Ollama model names, so it stays short and plain.
/// </summary>
public static partial class TechnicalName
{
    public const int MaxLength = 32;

    public static string? Validate(string? value)
    {
        var name = value?.Trim() ?? "";
        if (name.Length == 0) return "The technical name is required.";
        if (name.Length > MaxLength) return $"The technical name must be at most {MaxLength} characters (it becomes part of generated names).";
        if (!Pattern().IsMatch(name))
        {
            return "Use letters, digits, '.', '-' and '_' only, starting and ending with a letter or digit.";
        }
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")]
    private static partial Regex Pattern();
}
