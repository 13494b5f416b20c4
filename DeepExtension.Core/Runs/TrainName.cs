using System.Text.RegularExpressions;

namespace DeepExtension.Core.Runs;

/// <summary>A train's name becomes part of the customized model's name and folder, so it stays plain.</summary>
public static partial class TrainName
{
    public const int MaxLength = 64;

    public static string? Validate(string? value)
    {
        var name = value?.Trim() ?? "";
        if (name.Length == 0) return "The train name is required.";
        if (name.Length > MaxLength) return $"The train name must be at most {MaxLength} characters.";
        if (!Pattern().IsMatch(name)) return "Use letters, digits, '.', '-' and '_' only, starting and ending with a letter or digit.";
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")]
    private static partial Regex Pattern();
}
