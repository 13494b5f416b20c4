using System.Globalization;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>
/// Recursive-descent parser for the Jinja subset that chat templates use. Operator precedence follows
/// Jinja's parser: conditional &lt; or &lt; and &lt; not &lt; comparisons &lt; + - &lt; ~ &lt; * / // % &lt; ** &lt;
/// unary minus &lt; postfix ( . [] () ) &lt; filters and tests, so <c>'a' + x | trim</c> trims only x.
/// </summary>
internal sealed class JinjaParser
{
    private static readonly HashSet<string> ComparisonOperators = ["==", "!=", "<", ">", "<=", ">="];
    private static readonly HashSet<string> WordsEndingATestArgument = ["else", "or", "and", "if", "not", "in", "is"];

    private readonly IReadOnlyList<JinjaToken> _tokens;
    private int _index;

    private JinjaParser(IReadOnlyList<JinjaToken> tokens) => _tokens = tokens;

    public static IReadOnlyList<Statement> Parse(string template) =>
        new JinjaParser(JinjaLexer.Tokenize(template)).ParseBody();

    private JinjaToken Current => _tokens[_index];

    private JinjaToken Peek(int ahead) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private JinjaToken Next() => _tokens[_index++];

    private bool AtOperator(string op) => Current.Is(TokenKind.Operator, op);

    private bool AtName(string name) => Current.Is(TokenKind.Name, name);

    private bool SkipOperator(string op)
    {
        if (!AtOperator(op)) return false;
        _index++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!AtName(name)) return false;
        _index++;
        return true;
    }

    private JinjaToken Expect(TokenKind kind, string? value = null)
    {
        if (Current.Kind != kind || (value is not null && Current.Value != value))
        {
            var expected = kind switch
            {
                TokenKind.BlockEnd => "'%}'",
                TokenKind.VariableEnd => "'}}'",
                TokenKind.Name when value is null => "a name",
                _ => $"'{value}'",
            };
            throw Error($"Expected {expected} but found {Current}");
        }
        return Next();
    }

    private TemplateSyntaxException Error(string message) => new(message, Current.Line);

    // Statements ----------------------------------------------------------------------------------------------

    /// <summary>Statements up to one of <paramref name="endTags"/> (left unconsumed, after its "{%") or the end.</summary>
    private List<Statement> ParseBody(params string[] endTags)
    {
        var body = new List<Statement>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.End when endTags.Length == 0:
                    return body;
                case TokenKind.End:
                    throw Error($"Unexpected end of template: expected {Describe(endTags)}");
                case TokenKind.Text:
                    Next();
                    body.Add(new TextStatement(token.Value, token.Line));
                    break;
                case TokenKind.VariableStart:
                    Next();
                    body.Add(new OutputStatement(ParseExpression(), token.Line));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockStart when Peek(1).Kind == TokenKind.Name && endTags.Contains(Peek(1).Value):
                    Next();
                    return body;
                case TokenKind.BlockStart:
                    Next();
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"Unexpected {token}");
            }
        }
    }

    private static string Describe(string[] tags) => string.Join(" or ", tags.Select(t => $"'{{% {t} %}}'"));

    private Statement ParseStatement()
    {
        var keyword = Expect(TokenKind.Name);
        return keyword.Value switch
        {
            "if" => ParseIf(keyword.Line),
            "for" => ParseFor(keyword.Line),
            "set" => ParseSet(keyword.Line),
            "macro" => ParseMacro(keyword.Line),
            "generation" => ParseGeneration(keyword.Line),
            "break" => EndTag(new BreakStatement(keyword.Line)),
            "continue" => EndTag(new ContinueStatement(keyword.Line)),
            _ => throw new TemplateSyntaxException($"Unknown or unexpected tag '{keyword.Value}'", keyword.Line),
        };
    }

    private T EndTag<T>(T statement)
    {
        Expect(TokenKind.BlockEnd);
        return statement;
    }

    private IfStatement ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Statement>)>();
        var condition = ParseExpression();
        while (true)
        {
            Expect(TokenKind.BlockEnd);
            branches.Add((condition, ParseBody("elif", "else", "endif")));
            var tag = Next().Value;
            if (tag == "elif")
            {
                condition = ParseExpression();
                continue;
            }
            if (tag == "endif") return EndTag(new IfStatement(branches, [], line));
            Expect(TokenKind.BlockEnd);
            var elseBody = ParseBody("endif");
            Next();
            return EndTag(new IfStatement(branches, elseBody, line));
        }
    }

    private ForStatement ParseFor(int line)
    {
        var parenthesized = SkipOperator("(");
        var targets = new List<string> { Expect(TokenKind.Name).Value };
        while (SkipOperator(",")) targets.Add(Expect(TokenKind.Name).Value);
        if (parenthesized) Expect(TokenKind.Operator, ")");
        Expect(TokenKind.Name, "in");
        var iterable = ParseExpression(allowConditional: false);
        var filter = SkipName("if") ? ParseExpression(allowConditional: false) : null;
        if (AtName("recursive")) throw Error("Recursive for loops are not supported");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody("else", "endfor");
        IReadOnlyList<Statement> elseBody = [];
        if (Next().Value == "else")
        {
            Expect(TokenKind.BlockEnd);
            elseBody = ParseBody("endfor");
            Next();
        }
        return EndTag(new ForStatement(targets, iterable, filter, body, elseBody, line));
    }

    private Statement ParseSet(int line)
    {
        var targets = new List<string> { Expect(TokenKind.Name).Value };
        string? attribute = null;
        if (SkipOperator(".")) attribute = Expect(TokenKind.Name).Value;
        else while (SkipOperator(",")) targets.Add(Expect(TokenKind.Name).Value);

        if (SkipOperator("="))
        {
            var value = ParseExpression();
            if (AtOperator(",")) value = ParseTupleRest(value);
            return EndTag(new SetStatement(targets, attribute, value, line));
        }
        if (attribute is not null || targets.Count > 1) throw Error("A block set takes a single plain name");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody("endset");
        Next();
        return EndTag(new SetBlockStatement(targets[0], body, line));
    }

    private MacroStatement ParseMacro(int line)
    {
        var name = Expect(TokenKind.Name).Value;
        var parameters = new List<(string, Expr?)>();
        Expect(TokenKind.Operator, "(");
        while (!SkipOperator(")"))
        {
            if (parameters.Count > 0) Expect(TokenKind.Operator, ",");
            if (SkipOperator(")")) break;
            var parameter = Expect(TokenKind.Name).Value;
            parameters.Add((parameter, SkipOperator("=") ? ParseExpression() : null));
        }
        Expect(TokenKind.BlockEnd);
        var body = ParseBody("endmacro");
        Next();
        if (Current.Kind == TokenKind.Name) Next(); // "{% endmacro name %}" is allowed
        return EndTag(new MacroStatement(name, parameters, body, line));
    }

    private GenerationStatement ParseGeneration(int line)
    {
        Expect(TokenKind.BlockEnd);
        var body = ParseBody("endgeneration");
        Next();
        return EndTag(new GenerationStatement(body, line));
    }

    // Expressions ---------------------------------------------------------------------------------------------

    private Expr ParseExpression(bool allowConditional = true)
    {
        var expr = ParseOr();
        while (allowConditional && AtName("if"))
        {
            var line = Next().Line;
            var condition = ParseOr();
            var otherwise = SkipName("else") ? ParseExpression() : null;
            expr = new ConditionalExpr(condition, expr, otherwise, line);
        }
        return expr;
    }

    private Expr ParseTupleRest(Expr first)
    {
        var items = new List<Expr> { first };
        while (SkipOperator(","))
        {
            if (Current.Kind is TokenKind.BlockEnd or TokenKind.VariableEnd || AtOperator(")")) break;
            items.Add(ParseExpression());
        }
        return new TupleExpr(items, first.Line);
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (AtName("or"))
        {
            var line = Next().Line;
            left = new BinaryExpr("or", left, ParseAnd(), line);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (AtName("and"))
        {
            var line = Next().Line;
            left = new BinaryExpr("and", left, ParseNot(), line);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (!AtName("not")) return ParseCompare();
        var line = Next().Line;
        return new UnaryExpr("not", ParseNot(), line);
    }

    private Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && ComparisonOperators.Contains(Current.Value))
                rest.Add((Next().Value, ParseMath1()));
            else if (SkipName("in"))
                rest.Add(("in", ParseMath1()));
            else if (AtName("not") && Peek(1).Is(TokenKind.Name, "in"))
            {
                _index += 2;
                rest.Add(("not in", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, first.Line);
    }

    private Expr ParseMath1() => ParseBinary(ParseConcat, "+", "-");

    private Expr ParseConcat() => ParseBinary(ParseMath2, "~");

    private Expr ParseMath2() => ParseBinary(ParsePow, "*", "/", "//", "%");

    private Expr ParsePow() => ParseBinary(() => ParseUnary(), "**");

    private Expr ParseBinary(Func<Expr> operand, params string[] operators)
    {
        var left = operand();
        while (Current.Kind == TokenKind.Operator && operators.Contains(Current.Value))
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, operand(), op.Line);
        }
        return left;
    }

    private Expr ParseUnary(bool withFilters = true)
    {
        Expr expr;
        if (AtOperator("-") || AtOperator("+"))
        {
            var op = Next();
            expr = new UnaryExpr(op.Value, ParseUnary(withFilters: false), op.Line);
        }
        else
        {
            expr = ParsePrimary();
        }
        expr = ParsePostfix(expr);
        return withFilters ? ParseFiltersAndTests(expr) : expr;
    }

    private Expr ParsePrimary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new Literal(true, token.Line),
                    "false" or "False" => new Literal(false, token.Line),
                    "none" or "None" => new Literal(null, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TokenKind.String:
                var text = token.Value;
                while (Current.Kind == TokenKind.String) text += Next().Value; // adjacent literals concatenate
                return new Literal(text, token.Line);
            case TokenKind.Integer:
                return new Literal(long.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Float:
                return new Literal(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Operator when token.Value == "(":
                if (SkipOperator(")")) return new TupleExpr([], token.Line);
                var inner = ParseExpression();
                if (AtOperator(",")) inner = ParseTupleRest(inner);
                Expect(TokenKind.Operator, ")");
                return inner;
            case TokenKind.Operator when token.Value == "[":
                var items = new List<Expr>();
                while (!SkipOperator("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Operator, ",");
                    if (SkipOperator("]")) break;
                    items.Add(ParseExpression());
                }
                return new ListExpr(items, token.Line);
            case TokenKind.Operator when token.Value == "{":
                var entries = new List<(Expr, Expr)>();
                while (!SkipOperator("}"))
                {
                    if (entries.Count > 0) Expect(TokenKind.Operator, ",");
                    if (SkipOperator("}")) break;
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":");
                    entries.Add((key, ParseExpression()));
                }
                return new DictExpr(entries, token.Line);
            default:
                _index--;
                throw Error($"Expected an expression but found {token}");
        }
    }

    private Expr ParsePostfix(Expr expr)
    {
        while (true)
        {
            var line = Current.Line;
            if (SkipOperator("."))
            {
                var name = Next();
                expr = name.Kind switch
                {
                    TokenKind.Name => new AttributeExpr(expr, name.Value, line),
                    TokenKind.Integer => new ItemExpr(expr, new Literal(long.Parse(name.Value, CultureInfo.InvariantCulture), line), line),
                    _ => throw new TemplateSyntaxException($"Expected an attribute name after '.' but found {name}", line),
                };
            }
            else if (SkipOperator("[")) expr = ParseSubscript(expr, line);
            else if (AtOperator("(")) expr = new CallExpr(expr, ParseArguments(), line);
            else return expr;
        }
    }

    private Expr ParseSubscript(Expr target, int line)
    {
        Expr? start = AtOperator(":") ? null : ParseExpression();
        if (SkipOperator("]")) return new ItemExpr(target, start!, line);
        Expect(TokenKind.Operator, ":");
        Expr? stop = AtOperator(":") || AtOperator("]") ? null : ParseExpression();
        Expr? step = null;
        if (SkipOperator(":") && !AtOperator("]")) step = ParseExpression();
        Expect(TokenKind.Operator, "]");
        return new SliceExpr(target, start, stop, step, line);
    }

    private Arguments ParseArguments()
    {
        Expect(TokenKind.Operator, "(");
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        while (!SkipOperator(")"))
        {
            if (positional.Count + named.Count > 0) Expect(TokenKind.Operator, ",");
            if (SkipOperator(")")) break;
            if (Current.Kind == TokenKind.Name && Peek(1).Is(TokenKind.Operator, "="))
            {
                var name = Next().Value;
                Next();
                named.Add((name, ParseExpression()));
            }
            else
            {
                if (named.Count > 0) throw Error("Positional argument after a named one");
                positional.Add(ParseExpression());
            }
        }
        return new Arguments(positional, named);
    }

    private Expr ParseFiltersAndTests(Expr expr)
    {
        while (true)
        {
            var line = Current.Line;
            if (SkipOperator("|"))
            {
                var name = Expect(TokenKind.Name).Value;
                expr = new FilterExpr(expr, name, AtOperator("(") ? ParseArguments() : Arguments.None, line);
            }
            else if (SkipName("is"))
            {
                var negated = SkipName("not");
                var name = Expect(TokenKind.Name).Value;
                expr = new TestExpr(expr, name, ParseTestArguments(), negated, line);
            }
            else if (AtOperator("(")) expr = new CallExpr(expr, ParseArguments(), line);
            else return expr;
        }
    }

    // "x is divisibleby(3)" or "x is divisibleby 3" / "x is sameas false".
    private Arguments ParseTestArguments()
    {
        if (AtOperator("(")) return ParseArguments();
        var startsArgument = Current.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float ||
                             (Current.Kind == TokenKind.Name && !WordsEndingATestArgument.Contains(Current.Value)) ||
                             AtOperator("[") || AtOperator("{");
        return startsArgument ? new Arguments([ParsePostfix(ParsePrimary())], []) : Arguments.None;
    }
}
