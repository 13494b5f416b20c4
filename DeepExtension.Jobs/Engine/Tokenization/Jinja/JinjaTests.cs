namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Jinja's built-in tests (<c>x is defined</c>, <c>x is string</c>, …).</summary>
internal static class JinjaTests
{
    private static readonly Dictionary<string, Func<object?, CallArguments, bool>> Tests = new()
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["number"] = (v, _) => PythonOperators.IsNumber(v),
        ["string"] = (v, _) => v is string,
        ["mapping"] = (v, _) => v is OrderedDictionary<string, object?>,
        ["iterable"] = (v, _) => v is string or IList<object?> or OrderedDictionary<string, object?> or Undefined,
        ["sequence"] = (v, _) => v is string or IList<object?> or OrderedDictionary<string, object?>,
        ["callable"] = (v, _) => v is JinjaFunction,
        ["odd"] = (v, _) => PythonOperators.ToLong(v) % 2 != 0,
        ["even"] = (v, _) => PythonOperators.ToLong(v) % 2 == 0,
        ["divisibleby"] = (v, a) => PythonOperators.ToLong(v) % PythonOperators.ToLong(a.Get(0, "num")) == 0,
        ["eq"] = (v, a) => PythonOperators.AreEqual(v, a.Get(0, "other")),
        ["ne"] = (v, a) => !PythonOperators.AreEqual(v, a.Get(0, "other")),
        ["lt"] = (v, a) => PythonOperators.Compare(v, a.Get(0, "other"), "<") < 0,
        ["le"] = (v, a) => PythonOperators.Compare(v, a.Get(0, "other"), "<=") <= 0,
        ["gt"] = (v, a) => PythonOperators.Compare(v, a.Get(0, "other"), ">") > 0,
        ["ge"] = (v, a) => PythonOperators.Compare(v, a.Get(0, "other"), ">=") >= 0,
        ["in"] = (v, a) => PythonOperators.Contains(a.Get(0, "seq"), v),
        ["sameas"] = (v, a) => ReferenceEquals(v, a.Get(0, "other")) || (v is bool or null && Equals(v, a.Get(0, "other"))),
        ["lower"] = (v, _) => v is string s && s == s.ToLowerInvariant(),
        ["upper"] = (v, _) => v is string s && s == s.ToUpperInvariant(),
    };

    static JinjaTests()
    {
        foreach (var (alias, name) in new[] { ("equalto", "eq"), ("==", "eq"), ("!=", "ne"), ("lessthan", "lt"), ("<", "lt"),
                     ("<=", "le"), ("greaterthan", "gt"), (">", "gt"), (">=", "ge") })
            Tests[alias] = Tests[name];
    }

    public static bool Apply(string name, object? value, CallArguments arguments) =>
        Tests.TryGetValue(name, out var test) ? test(value, arguments) : throw new JinjaError($"No test named '{name}'");
}
