using System.Globalization;
using System.Net;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Jinja's built-in filters that chat templates use, with HF's own <c>tojson</c>.</summary>
internal static class JinjaFilters
{
    private static readonly Dictionary<string, Func<object?, CallArguments, object?>> Filters = new()
    {
        ["trim"] = (v, a) => PythonMethods.Strip(PythonFormat.Str(v), a.Get(0, "chars"), start: true, end: true),
        ["tojson"] = ToJson,
        ["length"] = (v, _) => ValueAccess.Length(v),
        ["upper"] = (v, _) => PythonFormat.Str(v).ToUpperInvariant(),
        ["lower"] = (v, _) => PythonFormat.Str(v).ToLowerInvariant(),
        ["capitalize"] = (v, _) => TextCase.Capitalize(PythonFormat.Str(v)),
        ["title"] = (v, _) => TextCase.Title(PythonFormat.Str(v)),
        ["default"] = (v, a) => v is Undefined || (PythonOperators.Truthy(a.Get(1, "boolean", false)) && !PythonOperators.Truthy(v))
            ? a.Get(0, "default_value", "")
            : v,
        ["first"] = (v, _) => ValueAccess.Iterate(v) is { Count: > 0 } items ? items[0] : new Undefined("No first item, sequence was empty."),
        ["last"] = (v, _) => ValueAccess.Iterate(v) is { Count: > 0 } items ? items[^1] : new Undefined("No last item, sequence was empty."),
        ["join"] = (v, a) => string.Join(PythonFormat.Str(a.Get(0, "d", "")),
            ValueAccess.Iterate(v).Select(x => PythonFormat.Str(a.Get(1, "attribute") is { } attr and not Undefined ? AttributePath(x, attr) : x))),
        ["replace"] = (v, a) => PythonMethods.Replace(PythonFormat.Str(v), PythonFormat.Str(a.Get(0, "old")), PythonFormat.Str(a.Get(1, "new")),
            a.Get(2, "count") is { } count ? PythonOperators.ToLong(count) : -1),
        ["list"] = (v, _) => new List<object?>(ValueAccess.Iterate(v)),
        ["items"] = (v, _) => v switch
        {
            Undefined => new List<object?>(),
            OrderedDictionary<string, object?> dict => Pairs(dict),
            _ => throw new JinjaError("Can only get item pairs from a mapping."),
        },
        ["dictsort"] = DictSort,
        ["string"] = (v, _) => PythonFormat.Str(v),
        ["int"] = (v, a) => ToInt(v, a.Get(0, "default", 0L)),
        ["float"] = (v, a) => ToFloat(v, a.Get(0, "default", 0.0)),
        ["abs"] = (v, _) => v is double d ? Math.Abs(d) : (object)Math.Abs(PythonOperators.ToLong(v)),
        // Python's round (what Jinja's "common" method calls) rounds halves to even.
        ["round"] = (v, a) => Math.Round(PythonOperators.ToDouble(v), (int)PythonOperators.ToLong(a.Get(0, "precision", 0L)), MidpointRounding.ToEven),
        ["reverse"] = (v, _) => v is string s ? string.Concat(ValueAccess.Characters(s).Reverse()) : new List<object?>(ValueAccess.Iterate(v).Reverse()),
        ["unique"] = (v, _) => ValueAccess.Iterate(v).Aggregate(new List<object?>(), (seen, x) =>
        {
            if (!seen.Any(s => PythonOperators.AreEqual(s, x))) seen.Add(x);
            return seen;
        }),
        ["sort"] = Sort,
        ["min"] = (v, _) => ValueAccess.Iterate(v).Aggregate((x, y) => PythonOperators.Compare(y, x, "<") < 0 ? y : x),
        ["max"] = (v, _) => ValueAccess.Iterate(v).Aggregate((x, y) => PythonOperators.Compare(y, x, ">") > 0 ? y : x),
        ["sum"] = (v, a) => ValueAccess.Iterate(v)
            .Select(x => a.Get(0, "attribute") is { } attr and not Undefined ? AttributePath(x, attr) : x)
            .Aggregate(a.Get(1, "start", 0L), (total, x) => PythonOperators.Binary("+", total, x)),
        ["map"] = Map,
        ["select"] = (v, a) => Select(v, a, attribute: false, keep: true),
        ["reject"] = (v, a) => Select(v, a, attribute: false, keep: false),
        ["selectattr"] = (v, a) => Select(v, a, attribute: true, keep: true),
        ["rejectattr"] = (v, a) => Select(v, a, attribute: true, keep: false),
        ["indent"] = Indent,
        ["safe"] = (v, _) => v,
        ["escape"] = (v, _) => WebUtility.HtmlEncode(PythonFormat.Str(v)),
    };

    static JinjaFilters()
    {
        Filters["count"] = Filters["length"];
        Filters["d"] = Filters["default"];
        Filters["e"] = Filters["escape"];
    }

    public static object? Apply(string name, object? value, CallArguments arguments) =>
        Filters.TryGetValue(name, out var filter) ? filter(value, arguments) : throw new JinjaError($"No filter named '{name}'");

    // HF: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) → json.dumps(...).
    private static object? ToJson(object? value, CallArguments a)
    {
        var indent = a.Get(1, "indent") switch
        {
            null => null,
            long n => new string(' ', (int)n),
            string s => s,
            var other => throw new JinjaError($"tojson indent must be an int or a string, not {PythonFormat.TypeName(other)}"),
        };
        var separators = a.Get(2, "separators") as IList<object?>;
        return new PythonJson(
            PythonOperators.Truthy(a.Get(0, "ensure_ascii", false)),
            indent,
            separators is null ? null : PythonMethods.Text(separators[0]),
            separators is null ? null : PythonMethods.Text(separators[1]),
            PythonOperators.Truthy(a.Get(3, "sort_keys", false))).Dumps(value);
    }

    private static object ToInt(object? value, object? fallback) => value switch
    {
        long or bool => PythonOperators.ToLong(value),
        double d => (long)Math.Truncate(d),
        string s when long.TryParse(s.Trim().Replace("_", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => (long)Math.Truncate(d),
        _ => fallback ?? 0L,
    };

    private static object ToFloat(object? value, object? fallback) => value switch
    {
        long or bool or double => PythonOperators.ToDouble(value),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => fallback ?? 0.0,
    };

    private static object? Sort(object? value, CallArguments a)
    {
        var reverse = PythonOperators.Truthy(a.Get(0, "reverse", false));
        var caseSensitive = PythonOperators.Truthy(a.Get(1, "case_sensitive", false));
        var attribute = a.Get(2, "attribute");
        object? Key(object? x)
        {
            var key = attribute is null or Undefined ? x : AttributePath(x, attribute);
            return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
        }
        var sorted = ValueAccess.Iterate(value).ToList();
        var comparer = Comparer<object?>.Create((x, y) => PythonOperators.Compare(Key(x), Key(y), "<"));
        sorted = [.. sorted.Order(comparer)]; // stable, as Python's sort
        if (reverse) sorted.Reverse();
        return sorted;
    }

    private static List<object?> Pairs(IEnumerable<KeyValuePair<string, object?>> entries) =>
        new(entries.Select(p => (object?)new object?[] { p.Key, p.Value }));

    // dictsort(case_sensitive=False, by='key', reverse=False): the (key, value) pairs, sorted.
    private static object? DictSort(object? value, CallArguments a)
    {
        if (value is not OrderedDictionary<string, object?> dict) throw new JinjaError("dictsort requires a mapping");
        var caseSensitive = PythonOperators.Truthy(a.Get(0, "case_sensitive", false));
        var byValue = a.Get(1, "by", "key") is "value";
        object? Key(KeyValuePair<string, object?> p)
        {
            var key = byValue ? p.Value : p.Key;
            return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
        }
        var sorted = dict.Order(Comparer<KeyValuePair<string, object?>>.Create((x, y) => PythonOperators.Compare(Key(x), Key(y), "<"))).ToList();
        if (PythonOperators.Truthy(a.Get(2, "reverse", false))) sorted.Reverse();
        return Pairs(sorted);
    }

    // map(attribute='name', default=…) or map('filter', args…).
    private static object? Map(object? value, CallArguments a)
    {
        var items = ValueAccess.Iterate(value);
        if (a.Named.TryGetValue("attribute", out var attribute))
        {
            var fallback = a.Named.GetValueOrDefault("default");
            return new List<object?>(items.Select(x =>
                AttributePath(x, attribute) is Undefined && a.Named.ContainsKey("default") ? fallback : AttributePath(x, attribute)));
        }
        var filter = PythonMethods.Text(a.Get(0, "filter"));
        var rest = new CallArguments(a.Positional.Skip(1).ToList(), a.Named);
        return new List<object?>(items.Select(x => Apply(filter, x, rest)));
    }

    // select('test', args…) / selectattr('attr', 'test', args…); without a test, truthiness decides.
    private static object? Select(object? value, CallArguments a, bool attribute, bool keep)
    {
        var skip = attribute ? 1 : 0;
        var testName = a.Positional.Count > skip ? PythonMethods.Text(a.Positional[skip]) : null;
        var testArguments = new CallArguments(a.Positional.Skip(skip + 1).ToList(), a.Named);
        return new List<object?>(ValueAccess.Iterate(value).Where(x =>
        {
            var subject = attribute ? AttributePath(x, a.Positional[0]) : x;
            var passes = testName is null ? PythonOperators.Truthy(subject) : JinjaTests.Apply(testName, subject, testArguments);
            return passes == keep;
        }));
    }

    // Jinja's indent(width=4, first=False, blank=False): indents every line but the first, skipping blank lines.
    private static object? Indent(object? value, CallArguments a)
    {
        var width = a.Get(0, "width", 4L);
        var prefix = width is string s ? s : new string(' ', (int)PythonOperators.ToLong(width));
        var first = PythonOperators.Truthy(a.Get(1, "first", false));
        var blank = PythonOperators.Truthy(a.Get(2, "blank", false));
        var lines = PythonFormat.Str(value).Split('\n');
        var result = lines.Select((line, i) =>
            (i > 0 || first) && (blank || line.Trim().Length > 0) ? prefix + line : line);
        return string.Join("\n", result);
    }

    // "a.b.0" walks attributes and indices, as Jinja's attribute arguments do.
    private static object? AttributePath(object? item, object? path)
    {
        if (path is long index) return ValueAccess.Item(item, index);
        foreach (var part in PythonMethods.Text(path).Split('.'))
            item = long.TryParse(part, out var i) ? ValueAccess.Item(item, i) : ValueAccess.Item(item, part);
        return item;
    }
}
