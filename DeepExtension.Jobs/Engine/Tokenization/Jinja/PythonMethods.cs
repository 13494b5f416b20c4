namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>
/// The non-mutating methods of str, dict and list that chat templates call (<c>content.strip()</c>,
/// <c>message.get('x')</c>, <c>d.items()</c>). Mutating ones (append, update, pop) are absent on purpose:
/// HF renders in Jinja's immutable sandbox, which forbids them too.
/// </summary>
internal static class PythonMethods
{
    public static JinjaFunction? Bind(object? target, string name)
    {
        Func<CallArguments, object?>? method = target switch
        {
            string s => StringMethod(s, name),
            OrderedDictionary<string, object?> dict => DictMethod(dict, name),
            IList<object?> list => ListMethod(list, name),
            _ => null,
        };
        return method is null ? null : new JinjaFunction(name, method);
    }

    private static Func<CallArguments, object?>? StringMethod(string s, string name) => name switch
    {
        "strip" => a => Strip(s, a.Get(0, "chars"), start: true, end: true),
        "lstrip" => a => Strip(s, a.Get(0, "chars"), start: true, end: false),
        "rstrip" => a => Strip(s, a.Get(0, "chars"), start: false, end: true),
        "upper" => _ => s.ToUpperInvariant(),
        "lower" => _ => s.ToLowerInvariant(),
        "title" => _ => TextCase.Title(s),
        "capitalize" => _ => TextCase.Capitalize(s),
        "startswith" => a => Affixes(a.Get(0, "prefix")).Any(p => s.StartsWith(p, StringComparison.Ordinal)),
        "endswith" => a => Affixes(a.Get(0, "suffix")).Any(p => s.EndsWith(p, StringComparison.Ordinal)),
        "replace" => a => Replace(s, Text(a.Get(0, "old")), Text(a.Get(1, "new")), PythonOperators.ToLong(a.Get(2, "count", -1L))),
        "split" => a => Split(s, a.Get(0, "sep"), PythonOperators.ToLong(a.Get(1, "maxsplit", -1L))),
        "splitlines" => _ => new List<object?>(s.Split('\n').Select(l => (object?)l.TrimEnd('\r')).SkipLast(s.EndsWith('\n') ? 1 : 0)),
        "find" => a => (long)s.IndexOf(Text(a.Get(0, "sub")), StringComparison.Ordinal),
        "count" => a => (long)CountOccurrences(s, Text(a.Get(0, "sub"))),
        "join" => a => string.Join(s, ValueAccess.Iterate(a.Get(0, "iterable")).Select(Text)),
        "removeprefix" => a => s.StartsWith(Text(a.Get(0, "prefix")), StringComparison.Ordinal) ? s[Text(a.Get(0, "prefix")).Length..] : s,
        "removesuffix" => a => s.EndsWith(Text(a.Get(0, "suffix")), StringComparison.Ordinal) ? s[..^Text(a.Get(0, "suffix")).Length] : s,
        "isdigit" => _ => s.Length > 0 && s.All(char.IsDigit),
        "isalpha" => _ => s.Length > 0 && s.All(char.IsLetter),
        "isspace" => _ => s.Length > 0 && s.All(char.IsWhiteSpace),
        "isupper" => _ => s.Any(char.IsLetter) && !s.Any(char.IsLower),
        "islower" => _ => s.Any(char.IsLetter) && !s.Any(char.IsUpper),
        _ => null,
    };

    private static Func<CallArguments, object?>? DictMethod(OrderedDictionary<string, object?> dict, string name) => name switch
    {
        "get" => a => a.Get(0, "key") is string key && dict.TryGetValue(key, out var value) ? value : a.Get(1, "default"),
        "items" => _ => new List<object?>(dict.Select(p => (object?)new object?[] { p.Key, p.Value })),
        "keys" => _ => new List<object?>(dict.Keys),
        "values" => _ => new List<object?>(dict.Values),
        _ => null,
    };

    private static Func<CallArguments, object?>? ListMethod(IList<object?> list, string name) => name switch
    {
        "index" => a => list.Select((x, i) => (x, i)).FirstOrDefault(p => PythonOperators.AreEqual(p.x, a.Get(0, "value")), (null, -1)) is var (_, i) && i >= 0
            ? (long)i
            : throw new JinjaError($"{PythonFormat.Repr(a.Get(0, "value"))} is not in list"),
        "count" => a => (long)list.Count(x => PythonOperators.AreEqual(x, a.Get(0, "value"))),
        _ => null,
    };

    /// <summary>Python's strip: whitespace, or any of <paramref name="chars"/> when given.</summary>
    public static string Strip(string s, object? chars, bool start, bool end)
    {
        if (chars is null or Undefined)
            return start && end ? s.Trim() : start ? s.TrimStart() : s.TrimEnd();
        var set = Text(chars).ToCharArray();
        return start && end ? s.Trim(set) : start ? s.TrimStart(set) : s.TrimEnd(set);
    }

    /// <summary>Python's str.replace: all occurrences, or the first <paramref name="count"/> when non-negative.</summary>
    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) return old.Length == 0 ? string.Join(replacement, ["", .. s.Select(c => c.ToString()), ""]) : s.Replace(old, replacement, StringComparison.Ordinal);
        var result = new System.Text.StringBuilder();
        var position = 0;
        for (var done = 0; done < count; done++)
        {
            var found = s.IndexOf(old, position, StringComparison.Ordinal);
            if (found < 0 || old.Length == 0) break;
            result.Append(s, position, found - position).Append(replacement);
            position = found + old.Length;
        }
        return result.Append(s, position, s.Length - position).ToString();
    }

    public static string Text(object? value) => value is string s ? s : throw new JinjaError(
        $"expected a string, got '{PythonFormat.TypeName(value)}'");

    // str.split(None) splits on runs of whitespace and drops empty parts; with a separator it splits exactly.
    private static List<object?> Split(string s, object? separator, long maxSplit)
    {
        var limit = maxSplit < 0 ? int.MaxValue : (int)Math.Min(int.MaxValue - 1, maxSplit) + 1;
        var parts = separator is null or Undefined
            ? s.Split((char[]?)null, limit, StringSplitOptions.RemoveEmptyEntries).Select((p, i) => i == limit - 1 ? p.TrimStart() : p)
            : s.Split(Text(separator), limit);
        return new List<object?>(parts);
    }

    private static IEnumerable<string> Affixes(object? value) => value switch
    {
        string s => [s],
        IList<object?> list => list.Select(Text),
        _ => throw new JinjaError($"startswith/endswith first arg must be str or a tuple of str, not {PythonFormat.TypeName(value)}"),
    };

    private static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return s.Length + 1;
        var count = 0;
        for (var i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}

/// <summary>Python's and Jinja's case conversions.</summary>
internal static class TextCase
{
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Jinja's title filter: each word (after whitespace or -([{&lt;) capitalized, the rest lower case.</summary>
    public static string Title(string s)
    {
        var chars = s.ToCharArray();
        var wordStart = true;
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = wordStart ? char.ToUpperInvariant(chars[i]) : char.ToLowerInvariant(chars[i]);
            wordStart = char.IsWhiteSpace(chars[i]) || chars[i] is '-' or '(' or '{' or '[' or '<';
        }
        return new string(chars);
    }
}
