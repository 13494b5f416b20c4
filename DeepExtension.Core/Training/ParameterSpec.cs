using System.Globalization;
using System.Text.Json.Nodes;

namespace DeepExtension.Core.Training;

public enum ParameterType
{
    Integer,
    Number,
    Boolean,
    Text,
    Choice,
    /// <summary>A list of short strings, e.g. LoRA target modules.</summary>
    List,
}

/// <summary>
/// One parameter of a training method: its type, default, hard limits (what is invalid) and typical range
/// (what most runs use; outside it the form warns but accepts).
/// </summary>
public sealed record ParameterSpec
{
    public required string Key { get; init; }
    public required string Label { get; init; }
    public required ParameterType Type { get; init; }
    public required JsonNode? Default { get; init; }
    public required string Help { get; init; }
    public string Group { get; init; } = "Training";
    public double? Min { get; init; }
    public double? Max { get; init; }
    /// <summary>True when Min itself is not allowed (learning rate > 0).</summary>
    public bool MinExclusive { get; init; }
    public double? TypicalMin { get; init; }
    public double? TypicalMax { get; init; }
    public IReadOnlyList<string> Choices { get; init; } = [];
    public bool Optional { get; init; }
    /// <summary>What a run recorded before this parameter existed did (packing: off), when that differs from
    /// <see cref="Default"/>; null: the default.</summary>
    public JsonNode? Absent { get; init; }

    /// <summary>Checks one value; returns the problem or null.</summary>
    public string? Validate(JsonNode? value)
    {
        if (value is null)
        {
            return Optional ? null : $"{Label} is required.";
        }
        switch (Type)
        {
            case ParameterType.Integer:
                if (!TryGetNumber(value, out var i) || i != Math.Floor(i)) return $"{Label} must be a whole number.";
                return CheckRange(i);
            case ParameterType.Number:
                if (!TryGetNumber(value, out var n) || double.IsNaN(n) || double.IsInfinity(n)) return $"{Label} must be a number.";
                return CheckRange(n);
            case ParameterType.Boolean:
                return value is JsonValue b && b.TryGetValue<bool>(out _) ? null : $"{Label} must be true or false.";
            case ParameterType.Text:
                return value is JsonValue t && t.TryGetValue<string>(out var text)
                    ? (Max is { } maxLength && text.Length > maxLength ? $"{Label} must be at most {maxLength:0} characters." : null)
                    : $"{Label} must be text.";
            case ParameterType.Choice:
                return value is JsonValue c && c.TryGetValue<string>(out var choice) && Choices.Contains(choice)
                    ? null
                    : $"{Label} must be one of {string.Join(", ", Choices)}.";
            case ParameterType.List:
                if (value is not JsonArray list || list.Any(e => e is not JsonValue v || !v.TryGetValue<string>(out _)))
                {
                    return $"{Label} must be a list of names.";
                }
                if (list.Count == 0 && !Optional) return $"{Label} needs at least one entry.";
                if (Choices.Count > 0 && list.Select(e => e!.GetValue<string>()).FirstOrDefault(e => !Choices.Contains(e)) is { } unknown)
                {
                    return $"{Label}: \"{unknown}\" is not one of {string.Join(", ", Choices)}.";
                }
                return null;
            default:
                return $"{Label} has an unknown type.";
        }
    }

    /// <summary>A hint when a valid value lies outside what most runs use; null otherwise.</summary>
    public string? Warn(JsonNode? value)
    {
        if (value is null || !TryGetNumber(value, out var number)) return null;
        if (TypicalMin is { } low && number < low) return $"{Label} {Format(number)} is below the typical range {Format(low)}–{Format(TypicalMax)}.";
        if (TypicalMax is { } high && number > high) return $"{Label} {Format(number)} is above the typical range {Format(TypicalMin)}–{Format(high)}.";
        return null;
    }

    public string RangeText => (Min, Max) switch
    {
        (null, null) => "",
        ({ } min, null) => MinExclusive ? $"> {Format(min)}" : $"≥ {Format(min)}",
        (null, { } max) => $"≤ {Format(max)}",
        ({ } min, { } max) => $"{(MinExclusive ? "> " : "")}{Format(min)} – {Format(max)}",
    };

    public string TypicalText => TypicalMin is null && TypicalMax is null ? "" : $"{Format(TypicalMin)} – {Format(TypicalMax)}";

    public static string Format(double? value) => value switch
    {
        null => "",
        { } v when v != 0 && (Math.Abs(v) < 1e-3 || Math.Abs(v) >= 1e6) => v.ToString("0.##e+0", CultureInfo.InvariantCulture),
        { } v => v.ToString("0.######", CultureInfo.InvariantCulture),
    };

    public static string Format(JsonNode? value) => value switch
    {
        null => "—",
        JsonArray list => string.Join(", ", list.Select(e => e?.ToString())),
        JsonValue v when TryGetNumber(v, out var n) => Format(n),
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "yes" : "no",
        _ => value.ToString(),
    };

    public static bool TryGetNumber(JsonNode value, out double number)
    {
        number = 0;
        if (value is not JsonValue v) return false;
        if (v.TryGetValue<double>(out number)) return true;
        if (v.TryGetValue<long>(out var l)) { number = l; return true; }
        if (v.TryGetValue<int>(out var i)) { number = i; return true; }
        if (v.TryGetValue<decimal>(out var d)) { number = (double)d; return true; }
        if (v.TryGetValue<float>(out var f)) { number = f; return true; }
        return false;
    }

    private string? CheckRange(double value)
    {
        if (Min is { } min && (MinExclusive ? value <= min : value < min))
        {
            return $"{Label} must be {(MinExclusive ? "greater than" : "at least")} {Format(min)}.";
        }
        if (Max is { } max && value > max) return $"{Label} must be at most {Format(max)}.";
        return null;
    }
}
