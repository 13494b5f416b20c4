namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Python semantics of truthiness, equality, ordering, arithmetic and membership on runtime values.</summary>
internal static class PythonOperators
{
    public static bool Truthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    public static bool AreEqual(object? left, object? right)
    {
        if (IsNumber(left) && IsNumber(right))
            return left is double || right is double ? ToDouble(left) == ToDouble(right) : ToLong(left) == ToLong(right);
        return (left, right) switch
        {
            (null, null) => true,
            (Undefined, Undefined) => true,
            (string a, string b) => a == b,
            (IList<object?> a, IList<object?> b) => a.Count == b.Count && a.Zip(b).All(p => AreEqual(p.First, p.Second)),
            (OrderedDictionary<string, object?> a, OrderedDictionary<string, object?> b) =>
                a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && AreEqual(p.Value, v)),
            _ => ReferenceEquals(left, right),
        };
    }

    /// <summary>Python's ordering (&lt;, &gt;, …) for numbers, strings and sequences.</summary>
    public static int Compare(object? left, object? right, string op)
    {
        if (IsNumber(left) && IsNumber(right)) return ToDouble(left).CompareTo(ToDouble(right));
        switch (left, right)
        {
            case (string a, string b):
                return string.CompareOrdinal(a, b);
            case (IList<object?> a, IList<object?> b):
                for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
                    if (!AreEqual(a[i], b[i])) return Compare(a[i], b[i], op);
                return a.Count.CompareTo(b.Count);
            default:
                FailIfUndefined(left, right);
                throw new JinjaError(
                    $"'{op}' not supported between instances of '{PythonFormat.TypeName(left)}' and '{PythonFormat.TypeName(right)}'");
        }
    }

    public static object? Binary(string op, object? left, object? right)
    {
        FailIfUndefined(left, right);
        if (IsNumber(left) && IsNumber(right)) return Arithmetic(op, left, right);
        return (op, left, right) switch
        {
            ("+", string a, string b) => a + b,
            ("+", IList<object?> a, IList<object?> b) => a is object?[] && b is object?[] ? [.. a, .. b] : new List<object?>([.. a, .. b]),
            ("*", string or IList<object?>, long n) => Repeat(left, n),
            ("*", long n, string or IList<object?>) => Repeat(right, n),
            _ => throw new JinjaError(
                $"unsupported operand type(s) for {op}: '{PythonFormat.TypeName(left)}' and '{PythonFormat.TypeName(right)}'"),
        };
    }

    // Python's sequence * int (or int * sequence): the sequence n times over.
    private static object Repeat(object? sequence, long times)
    {
        var count = (int)Math.Max(0, times);
        return sequence is string s
            ? string.Concat(Enumerable.Repeat(s, count))
            : new List<object?>(Enumerable.Repeat((IList<object?>)sequence!, count).SelectMany(x => x));
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw new JinjaError($"'in <string>' requires string as left operand, not {PythonFormat.TypeName(item)}"),
        OrderedDictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        IList<object?> list => list.Any(x => AreEqual(x, item)),
        JinjaNamespace ns => item is string key && ns.Attributes.ContainsKey(key),
        Undefined => false, // Python falls back to iterating it, and Undefined iterates as empty
        _ => throw new JinjaError($"argument of type '{PythonFormat.TypeName(container)}' is not iterable"),
    };

    public static object? Negate(object? value) => value switch
    {
        long l => (object)-l,
        double d => -d,
        bool b => b ? -1L : 0L,
        Undefined u => throw new JinjaError(u.Hint),
        _ => throw new JinjaError($"bad operand type for unary -: '{PythonFormat.TypeName(value)}'"),
    };

    public static bool IsNumber(object? value) => value is long or double or bool;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new JinjaError($"expected a number, got '{PythonFormat.TypeName(value)}'"),
    };

    public static long ToLong(object? value) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d => (long)d,
        _ => throw new JinjaError($"expected an integer, got '{PythonFormat.TypeName(value)}'"),
    };

    public static void FailIfUndefined(params object?[] values)
    {
        foreach (var value in values)
            if (value is Undefined u) throw new JinjaError(u.Hint);
    }

    private static object Arithmetic(string op, object? left, object? right)
    {
        var integral = left is not double && right is not double;
        if (integral)
        {
            long a = ToLong(left), b = ToLong(right);
            switch (op)
            {
                case "+": return a + b;
                case "-": return a - b;
                case "*": return a * b;
                case "//": return b == 0 ? throw DivisionByZero() : FloorDiv(a, b);
                case "%": return b == 0 ? throw DivisionByZero() : a - b * FloorDiv(a, b);
                case "**" when b >= 0: return (long)Math.Pow(a, b);
            }
        }
        double x = ToDouble(left), y = ToDouble(right);
        return op switch
        {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => y == 0 ? throw DivisionByZero() : x / y,
            "//" => y == 0 ? throw DivisionByZero() : Math.Floor(x / y),
            "%" => y == 0 ? throw DivisionByZero() : x - y * Math.Floor(x / y),
            "**" => Math.Pow(x, y),
            _ => throw new JinjaError($"unknown operator {op}"),
        };
    }

    private static long FloorDiv(long a, long b) => a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);

    private static JinjaError DivisionByZero() => new("division by zero");
}
