namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Walks a parsed template, writing its output; runtime errors carry the template line.</summary>
internal static class JinjaRenderer
{
    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    public static TemplateOutput Render(IReadOnlyList<Statement> template, Scope globals)
    {
        var output = new TemplateOutput(isTemplateOutput: true);
        Execute(template, new Scope(globals), output);
        return output;
    }

    private static Flow Execute(IReadOnlyList<Statement> body, Scope scope, TemplateOutput output)
    {
        foreach (var statement in body)
        {
            var flow = Execute(statement, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private static Flow Execute(Statement statement, Scope scope, TemplateOutput output)
    {
        try
        {
            return ExecuteCore(statement, scope, output);
        }
        catch (JinjaError error)
        {
            throw new TemplateRuntimeException(error.Message, statement.Line);
        }
    }

    private static Flow ExecuteCore(Statement statement, Scope scope, TemplateOutput output)
    {
        switch (statement)
        {
            case TextStatement text:
                output.Text.Append(text.Text);
                return Flow.Normal;
            case OutputStatement print:
                output.Text.Append(PythonFormat.Str(Evaluate(print.Value, scope)));
                return Flow.Normal;
            case IfStatement branch:
                foreach (var (condition, body) in branch.Branches)
                    if (PythonOperators.Truthy(Evaluate(condition, scope))) return Execute(body, scope, output);
                return Execute(branch.Else, scope, output);
            case ForStatement loop:
                return ExecuteFor(loop, scope, output);
            case SetStatement set:
                ExecuteSet(set, scope);
                return Flow.Normal;
            case SetBlockStatement setBlock:
                var captured = new TemplateOutput(isTemplateOutput: false);
                Execute(setBlock.Body, scope, captured);
                scope.Assign(setBlock.Target, captured.Text.ToString());
                return Flow.Normal;
            case MacroStatement macro:
                scope.Assign(macro.Name, new JinjaFunction(macro.Name, arguments => CallMacro(macro, scope, arguments)));
                return Flow.Normal;
            case GenerationStatement generation:
                var start = output.Text.Length;
                var flow = Execute(generation.Body, scope, output);
                if (output.IsTemplateOutput) output.GenerationSpans.Add((start, output.Text.Length));
                return flow;
            case BreakStatement:
                return Flow.Break;
            case ContinueStatement:
                return Flow.Continue;
            default:
                throw new JinjaError($"Unsupported statement {statement.GetType().Name}");
        }
    }

    private static Flow ExecuteFor(ForStatement loop, Scope scope, TemplateOutput output)
    {
        IReadOnlyList<object?> items = ValueAccess.Iterate(Evaluate(loop.Iterable, scope));
        if (loop.Filter is not null)
            items = items.Where(item => PythonOperators.Truthy(Evaluate(loop.Filter, IterationScope(loop, scope, item, null)))).ToList();
        if (items.Count == 0) return Execute(loop.Else, scope, output);

        var context = new LoopContext(items);
        for (var i = 0; i < items.Count; i++)
        {
            context.Index0 = i;
            if (Execute(loop.Body, IterationScope(loop, scope, items[i], context), output) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private static Scope IterationScope(ForStatement loop, Scope parent, object? item, LoopContext? context)
    {
        var scope = new Scope(parent);
        Bind(scope, loop.Targets, item);
        if (context is not null) scope.Assign("loop", context);
        return scope;
    }

    private static void ExecuteSet(SetStatement set, Scope scope)
    {
        var value = Evaluate(set.Value, scope);
        if (set.Attribute is null)
        {
            Bind(scope, set.Targets, value);
            return;
        }
        if (scope.Lookup(set.Targets[0]) is not JinjaNamespace ns)
            throw new JinjaError($"Cannot assign attribute '{set.Attribute}' on '{set.Targets[0]}': only namespace() objects allow it");
        ns.Attributes[set.Attribute] = value;
    }

    // "for k, v in …" and "set a, b = …" unpack a sequence of exactly that many items.
    private static void Bind(Scope scope, IReadOnlyList<string> targets, object? value)
    {
        if (targets.Count == 1)
        {
            scope.Assign(targets[0], value);
            return;
        }
        var items = value is IList<object?> or string ? ValueAccess.Iterate(value) : throw new JinjaError(
            $"cannot unpack non-iterable {PythonFormat.TypeName(value)} object");
        if (items.Count != targets.Count)
            throw new JinjaError($"expected {targets.Count} values to unpack, got {items.Count}");
        for (var i = 0; i < targets.Count; i++) scope.Assign(targets[i], items[i]);
    }

    private static string CallMacro(MacroStatement macro, Scope definitionScope, CallArguments arguments)
    {
        var scope = new Scope(definitionScope);
        if (arguments.Positional.Count > macro.Parameters.Count)
            throw new JinjaError($"macro '{macro.Name}' takes not more than {macro.Parameters.Count} argument(s)");
        for (var i = 0; i < macro.Parameters.Count; i++)
        {
            var (name, fallback) = macro.Parameters[i];
            scope.Assign(name, arguments.Has(i, name) ? arguments.Get(i, name)
                : fallback is null ? Undefined.Variable(name) : Evaluate(fallback, scope));
        }
        var output = new TemplateOutput(isTemplateOutput: false);
        Execute(macro.Body, scope, output);
        return output.Text.ToString();
    }

    // Expressions ---------------------------------------------------------------------------------------------

    public static object? Evaluate(Expr expr, Scope scope)
    {
        try
        {
            return EvaluateCore(expr, scope);
        }
        catch (JinjaError error)
        {
            throw new TemplateRuntimeException(error.Message, expr.Line);
        }
        catch (InvalidOperationException error)
        {
            throw new TemplateRuntimeException(error.Message, expr.Line);
        }
    }

    private static object? EvaluateCore(Expr expr, Scope scope) => expr switch
    {
        Literal literal => literal.Value,
        NameExpr name => scope.Lookup(name.Name),
        ListExpr list => new List<object?>(list.Items.Select(i => Evaluate(i, scope))),
        TupleExpr tuple => tuple.Items.Select(i => Evaluate(i, scope)).ToArray(),
        DictExpr dict => EvaluateDict(dict, scope),
        AttributeExpr attribute => ValueAccess.Attribute(Evaluate(attribute.Target, scope), attribute.Name),
        ItemExpr item => ValueAccess.Item(Evaluate(item.Target, scope), Evaluate(item.Key, scope)),
        SliceExpr slice => ValueAccess.Slice(Evaluate(slice.Target, scope),
            EvaluateOptional(slice.Start, scope), EvaluateOptional(slice.Stop, scope), EvaluateOptional(slice.Step, scope)),
        CallExpr call => Call(Evaluate(call.Callee, scope), EvaluateArguments(call.Arguments, scope)),
        FilterExpr filter => JinjaFilters.Apply(filter.Name, Evaluate(filter.Target, scope), EvaluateArguments(filter.Arguments, scope)),
        TestExpr test => JinjaTests.Apply(test.Name, Evaluate(test.Target, scope), EvaluateArguments(test.Arguments, scope)) != test.Negated,
        UnaryExpr unary => EvaluateUnary(unary, scope),
        BinaryExpr binary => EvaluateBinary(binary, scope),
        CompareExpr compare => EvaluateCompare(compare, scope),
        ConditionalExpr conditional => PythonOperators.Truthy(Evaluate(conditional.Condition, scope))
            ? Evaluate(conditional.Then, scope)
            : conditional.Else is null
                ? new Undefined($"the inline if-expression on line {conditional.Line} evaluated to false and no else section was defined.")
                : Evaluate(conditional.Else, scope),
        _ => throw new JinjaError($"Unsupported expression {expr.GetType().Name}"),
    };

    private static object? EvaluateOptional(Expr? expr, Scope scope) => expr is null ? null : Evaluate(expr, scope);

    private static OrderedDictionary<string, object?> EvaluateDict(DictExpr dict, Scope scope)
    {
        var result = new OrderedDictionary<string, object?>();
        foreach (var (key, value) in dict.Entries)
            result[Evaluate(key, scope) as string ?? throw new JinjaError("Only string keys are supported in dict literals")] = Evaluate(value, scope);
        return result;
    }

    private static CallArguments EvaluateArguments(Arguments arguments, Scope scope) => new(
        arguments.Positional.Select(a => Evaluate(a, scope)).ToList(),
        arguments.Named.ToDictionary(a => a.Name, a => Evaluate(a.Value, scope)));

    private static object? Call(object? callee, CallArguments arguments) => callee switch
    {
        JinjaFunction function => function.Invoke(arguments),
        Undefined undefined => throw new JinjaError(undefined.Hint),
        _ => throw new JinjaError($"'{PythonFormat.TypeName(callee)}' object is not callable"),
    };

    private static object? EvaluateUnary(UnaryExpr unary, Scope scope)
    {
        var operand = Evaluate(unary.Operand, scope);
        return unary.Operator switch
        {
            "not" => !PythonOperators.Truthy(operand),
            "-" => PythonOperators.Negate(operand),
            _ => PythonOperators.IsNumber(operand) ? operand : throw new JinjaError(
                $"bad operand type for unary +: '{PythonFormat.TypeName(operand)}'"),
        };
    }

    // "and"/"or" short-circuit and return an operand, as in Python.
    private static object? EvaluateBinary(BinaryExpr binary, Scope scope)
    {
        var left = Evaluate(binary.Left, scope);
        return binary.Operator switch
        {
            "and" => PythonOperators.Truthy(left) ? Evaluate(binary.Right, scope) : left,
            "or" => PythonOperators.Truthy(left) ? left : Evaluate(binary.Right, scope),
            "~" => PythonFormat.Str(left) + PythonFormat.Str(Evaluate(binary.Right, scope)),
            var op => PythonOperators.Binary(op, left, Evaluate(binary.Right, scope)),
        };
    }

    private static bool EvaluateCompare(CompareExpr compare, Scope scope)
    {
        var left = Evaluate(compare.First, scope);
        foreach (var (op, operand) in compare.Rest)
        {
            var right = Evaluate(operand, scope);
            var holds = op switch
            {
                "==" => PythonOperators.AreEqual(left, right),
                "!=" => !PythonOperators.AreEqual(left, right),
                "in" => PythonOperators.Contains(right, left),
                "not in" => !PythonOperators.Contains(right, left),
                "<" => PythonOperators.Compare(left, right, op) < 0,
                "<=" => PythonOperators.Compare(left, right, op) <= 0,
                ">" => PythonOperators.Compare(left, right, op) > 0,
                _ => PythonOperators.Compare(left, right, op) >= 0,
            };
            if (!holds) return false;
            left = right;
        }
        return true;
    }
}
