namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

// The syntax tree of a template. Every node keeps its line for runtime error messages.

internal abstract record Node(int Line);

internal abstract record Expr(int Line) : Node(Line);

internal sealed record Literal(object? Value, int Line) : Expr(Line);

internal sealed record NameExpr(string Name, int Line) : Expr(Line);

internal sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record TupleExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Entries, int Line) : Expr(Line);

/// <summary><c>obj.name</c>: an attribute first, then an item (Jinja's getattr).</summary>
internal sealed record AttributeExpr(Expr Target, string Name, int Line) : Expr(Line);

/// <summary><c>obj[key]</c>: an item first, then an attribute (Jinja's getitem).</summary>
internal sealed record ItemExpr(Expr Target, Expr Key, int Line) : Expr(Line);

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

internal sealed record Arguments(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Named)
{
    public static readonly Arguments None = new([], []);
}

internal sealed record CallExpr(Expr Callee, Arguments Arguments, int Line) : Expr(Line);

internal sealed record FilterExpr(Expr Target, string Name, Arguments Arguments, int Line) : Expr(Line);

internal sealed record TestExpr(Expr Target, string Name, Arguments Arguments, bool Negated, int Line) : Expr(Line);

internal sealed record UnaryExpr(string Operator, Expr Operand, int Line) : Expr(Line);

internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);

/// <summary><c>a == b &lt; c</c> chains like Python: each comparison with its neighbour, all must hold.</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest, int Line) : Expr(Line);

internal sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Else, int Line) : Expr(Line);

internal abstract record Statement(int Line) : Node(Line);

internal sealed record TextStatement(string Text, int Line) : Statement(Line);

internal sealed record OutputStatement(Expr Value, int Line) : Statement(Line);

internal sealed record IfStatement(IReadOnlyList<(Expr Condition, IReadOnlyList<Statement> Body)> Branches,
    IReadOnlyList<Statement> Else, int Line) : Statement(Line);

internal sealed record ForStatement(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter,
    IReadOnlyList<Statement> Body, IReadOnlyList<Statement> Else, int Line) : Statement(Line);

/// <summary><c>set x = …</c>, <c>set a, b = …</c> or <c>set ns.attr = …</c> (<see cref="Attribute"/> set).</summary>
internal sealed record SetStatement(IReadOnlyList<string> Targets, string? Attribute, Expr Value, int Line) : Statement(Line);

/// <summary><c>{% set x %}…{% endset %}</c>: the rendered body becomes the value.</summary>
internal sealed record SetBlockStatement(string Target, IReadOnlyList<Statement> Body, int Line) : Statement(Line);

internal sealed record MacroStatement(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters,
    IReadOnlyList<Statement> Body, int Line) : Statement(Line);

internal sealed record BreakStatement(int Line) : Statement(Line);

internal sealed record ContinueStatement(int Line) : Statement(Line);

/// <summary>HF's <c>{% generation %}…{% endgeneration %}</c> marks assistant text; rendered as is.</summary>
internal sealed record GenerationStatement(IReadOnlyList<Statement> Body, int Line) : Statement(Line);
