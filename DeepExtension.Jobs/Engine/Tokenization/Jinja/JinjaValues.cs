namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

// Runtime values of the interpreter, mirroring the Python objects Jinja sees: null is None, long is int,
// double is float, string is str, List<object?> is list, object?[] is tuple,
// OrderedDictionary<string, object?> is dict (insertion order kept, as Python's), plus the types below.

/// <summary>
/// Jinja's default Undefined: prints as "", is falsy, iterates as empty and has length 0, but using it
/// in arithmetic, reading its attributes or calling it fails with <see cref="Hint"/>.
/// </summary>
internal sealed class Undefined(string hint)
{
    public string Hint { get; } = hint;

    public static Undefined Variable(string name) => new($"'{name}' is undefined");

    public static Undefined Attribute(object? owner, string name) =>
        new($"'{PythonFormat.TypeName(owner)} object' has no attribute '{name}'");
}

/// <summary>The object made by <c>namespace(...)</c>: the one value a template may assign attributes on.</summary>
internal sealed class JinjaNamespace(OrderedDictionary<string, object?> attributes)
{
    public OrderedDictionary<string, object?> Attributes { get; } = attributes;
}

/// <summary>Arguments of a call, filter or test (after the value it applies to).</summary>
internal sealed record CallArguments(IReadOnlyList<object?> Positional, IReadOnlyDictionary<string, object?> Named)
{
    public static readonly CallArguments None = new([], new Dictionary<string, object?>());

    /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, as Python binds them.</summary>
    public object? Get(int index, string name, object? fallback = null) =>
        index < Positional.Count ? Positional[index] : Named.TryGetValue(name, out var value) ? value : fallback;

    public bool Has(int index, string name) => index < Positional.Count || Named.ContainsKey(name);
}

/// <summary>Something a template can call: a global function, a macro, a bound method, loop.cycle.</summary>
internal sealed record JinjaFunction(string Name, Func<CallArguments, object?> Invoke);

/// <summary>The <c>loop</c> variable inside a for loop.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items)
{
    public int Index0 { get; set; }

    public object? Attribute(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : Undefined.Variable("previtem"),
        "nextitem" => Index0 < items.Count - 1 ? items[Index0 + 1] : Undefined.Variable("nextitem"),
        "cycle" => new JinjaFunction("cycle", args => args.Positional.Count == 0
            ? throw new InvalidOperationException("no items for cycling given")
            : args.Positional[Index0 % args.Positional.Count]),
        _ => Undefined.Attribute(this, name),
    };
}
