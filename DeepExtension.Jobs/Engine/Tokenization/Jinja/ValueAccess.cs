namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Attribute, item and slice access, iteration and length, with Jinja's and Python's rules.</summary>
internal static class ValueAccess
{
    /// <summary><c>obj.name</c>: a method or attribute first, then the item <paramref name="name"/>.</summary>
    public static object? Attribute(object? target, string name) => target switch
    {
        Undefined u => throw new JinjaError(u.Hint),
        LoopContext loop => loop.Attribute(name),
        JinjaNamespace ns => ns.Attributes.TryGetValue(name, out var value) ? value : Undefined.Attribute(target, name),
        _ => PythonMethods.Bind(target, name) ?? ItemOrUndefined(target, name),
    };

    /// <summary><c>obj[key]</c>: the item first, then (for a string key) the attribute.</summary>
    public static object? Item(object? target, object? key)
    {
        switch (target, key)
        {
            case (Undefined u, _):
                throw new JinjaError(u.Hint);
            case (OrderedDictionary<string, object?> dict, string name):
                return dict.TryGetValue(name, out var value) ? value : (object?)PythonMethods.Bind(target, name) ?? Undefined.Attribute(target, name);
            case (IList<object?> or string, long or bool):
                var items = Sequence(target);
                var index = PythonOperators.ToLong(key);
                if (index < 0) index += items.Count;
                return index >= 0 && index < items.Count ? items[(int)index] : Undefined.Attribute(target, PythonFormat.Str(key));
            case (_, string name):
                return Attribute(target, name);
            default:
                return Undefined.Attribute(target, PythonFormat.Str(key));
        }
    }

    /// <summary>Python slicing <c>[start:stop:step]</c> of a list, tuple or string.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        PythonOperators.FailIfUndefined(target);
        var items = Sequence(target);
        var stride = step is null ? 1 : PythonOperators.ToLong(step);
        if (stride == 0) throw new JinjaError("slice step cannot be zero");
        var count = (long)items.Count;
        long Clamp(object? bound, long whenMissing)
        {
            if (bound is null) return whenMissing;
            var i = PythonOperators.ToLong(bound);
            if (i < 0) i += count;
            return stride > 0 ? Math.Clamp(i, 0, count) : Math.Clamp(i, -1, count - 1);
        }
        var from = Clamp(start, stride > 0 ? 0 : count - 1);
        var to = Clamp(stop, stride > 0 ? count : -1);
        var picked = new List<object?>();
        for (var i = from; stride > 0 ? i < to : i > to; i += stride) picked.Add(items[(int)i]);
        return target switch
        {
            string => string.Concat(picked.Cast<string>()),
            object?[] => picked.ToArray(),
            _ => picked,
        };
    }

    /// <summary>What a for loop walks: list items, dict keys, string characters; Undefined is empty.</summary>
    public static IReadOnlyList<object?> Iterate(object? value) => value switch
    {
        Undefined => [],
        IList<object?> list => list.ToList(),
        OrderedDictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        string s => Characters(s),
        _ => throw new JinjaError($"'{PythonFormat.TypeName(value)}' object is not iterable"),
    };

    public static long Length(object? value) => value switch
    {
        Undefined => 0,
        string s => Characters(s).Count,
        System.Collections.ICollection c => c.Count,
        _ => throw new JinjaError($"object of type '{PythonFormat.TypeName(value)}' has no len()"),
    };

    /// <summary>A string as Python sees it: one item per code point, so emoji count as one character.</summary>
    public static IReadOnlyList<object?> Characters(string s)
    {
        var characters = new List<object?>(s.Length);
        foreach (var rune in s.EnumerateRunes()) characters.Add(rune.ToString());
        return characters;
    }

    private static IReadOnlyList<object?> Sequence(object? value) => value switch
    {
        IList<object?> list => list.AsReadOnly(),
        string s => Characters(s),
        _ => throw new JinjaError($"'{PythonFormat.TypeName(value)}' object is not subscriptable"),
    };

    private static object? ItemOrUndefined(object? target, string name) =>
        target is OrderedDictionary<string, object?> dict && dict.TryGetValue(name, out var value)
            ? value
            : Undefined.Attribute(target, name);
}
