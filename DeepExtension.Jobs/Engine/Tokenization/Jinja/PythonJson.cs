using System.Text;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>
/// Python's <c>json.dumps</c>, which HF's <c>tojson</c> filter calls (with ensure_ascii=False by default):
/// separators ", " and ": " without indent, "," and ": " with it; floats as Python prints them.
/// </summary>
internal sealed class PythonJson(bool ensureAscii, string? indent, string? itemSeparator, string? keySeparator, bool sortKeys)
{
    private readonly string _itemSeparator = itemSeparator ?? (indent is null ? ", " : ",");
    private readonly string _keySeparator = keySeparator ?? ": ";

    public string Dumps(object? value)
    {
        var output = new StringBuilder();
        Write(value, output, 0);
        return output.ToString();
    }

    private void Write(object? value, StringBuilder output, int depth)
    {
        switch (value)
        {
            case null: output.Append("null"); break;
            case bool b: output.Append(b ? "true" : "false"); break;
            case long l: output.Append(PythonFormat.Repr(l)); break;
            case double d: output.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : PythonFormat.Float(d)); break;
            case string s: WriteString(s, output); break;
            case IList<object?> list:
                WriteContainer(output, depth, '[', ']', list, (item, o) => Write(item, o, depth + 1));
                break;
            case OrderedDictionary<string, object?> dict:
                var entries = sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                WriteContainer(output, depth, '{', '}', entries, (entry, o) =>
                {
                    WriteString(entry.Key, o);
                    o.Append(_keySeparator);
                    Write(entry.Value, o, depth + 1);
                });
                break;
            default:
                throw new JinjaError($"Object of type {PythonFormat.TypeName(value)} is not JSON serializable");
        }
    }

    private void WriteContainer<T>(StringBuilder output, int depth, char open, char close, IList<T> items, Action<T, StringBuilder> writeItem)
    {
        output.Append(open);
        if (items.Count == 0)
        {
            output.Append(close);
            return;
        }
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0) output.Append(_itemSeparator);
            if (indent is not null) output.Append('\n').Append(string.Concat(Enumerable.Repeat(indent, depth + 1)));
            writeItem(items[i], output);
        }
        if (indent is not null) output.Append('\n').Append(string.Concat(Enumerable.Repeat(indent, depth)));
        output.Append(close);
    }

    private void WriteString(string s, StringBuilder output)
    {
        output.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': output.Append("\\\""); break;
                case '\\': output.Append("\\\\"); break;
                case '\n': output.Append("\\n"); break;
                case '\r': output.Append("\\r"); break;
                case '\t': output.Append("\\t"); break;
                case '\b': output.Append("\\b"); break;
                case '\f': output.Append("\\f"); break;
                case < ' ': output.Append($"\\u{(int)c:x4}"); break;
                case > '~' when ensureAscii: output.Append($"\\u{(int)c:x4}"); break;
                default: output.Append(c); break;
            }
        }
        output.Append('"');
    }
}
