using System.Collections;
using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Turns JSON and ordinary .NET values into the interpreter's Python-like values.</summary>
internal static class JinjaValueConversion
{
    public static object? FromJson(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Object => ToDict(json.EnumerateObject().Select(p => (p.Name, FromJson(p.Value)))),
        JsonValueKind.Array => new List<object?>(json.EnumerateArray().Select(FromJson)),
        JsonValueKind.String => json.GetString(),
        // Python's json.loads: "1" is an int, "1.0" and "1e3" are floats (and print that way).
        JsonValueKind.Number => json.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 && json.TryGetInt64(out var l) ? (object)l : json.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static object? FromDotNet(object? value) => value switch
    {
        null => null,
        string or bool or long or double => value,
        int i => (long)i,
        float f => (double)f,
        decimal m => (double)m,
        JsonElement json => FromJson(json),
        IEnumerable<KeyValuePair<string, object?>> pairs => ToDict(pairs.Select(p => (p.Key, FromDotNet(p.Value)))),
        IEnumerable<KeyValuePair<string, JsonElement>> pairs => ToDict(pairs.Select(p => (p.Key, FromJson(p.Value)))),
        IEnumerable items => new List<object?>(items.Cast<object?>().Select(FromDotNet)),
        _ => throw new ArgumentException($"Values of type {value.GetType().Name} cannot be passed to a chat template."),
    };

    public static OrderedDictionary<string, object?> ToDict(IEnumerable<(string Key, object? Value)> entries)
    {
        var dict = new OrderedDictionary<string, object?>();
        foreach (var (key, value) in entries) dict[key] = value;
        return dict;
    }
}
