using System.Text.Json;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Tokenization.Jinja;

namespace DeepExtension.Tests.Engine.Tokenization;

/// <summary>Focused behaviour of the Jinja interpreter behind <see cref="ChatTemplate"/>.</summary>
public class JinjaInterpreterTests
{
    private static string Render(string template, string variablesJson = "{}")
    {
        using var variables = JsonDocument.Parse(variablesJson);
        var extra = variables.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        return new ChatTemplate(template).Render([], addGenerationPrompt: false, extra: extra);
    }

    [Fact]
    public void Render_BlockTagsAloneOnTheirLines_LeaveNoBlankLinesOrIndentation()
    {
        Assert.Equal("    a\n    b\n", Render("  {% for x in ['a', 'b'] %}\n    {{ x }}\n  {% endfor %}\n"));
    }

    [Fact]
    public void Render_MinusOnTags_StripsAllWhitespaceOnThatSide()
    {
        Assert.Equal("[x]", Render("[ \n {%- if true -%} \n x \n {%- endif -%} \n ]"));
        Assert.Equal("a b c", Render("a {{- ' b ' -}} c"));
    }

    [Fact]
    public void Render_PlusOnTags_KeepsIndentationAndNewline()
    {
        Assert.Equal("  \nx\n", Render("  {%+ if true +%}\nx\n{% endif %}"));
    }

    [Fact]
    public void Render_VariableTagOnItsOwnLine_KeepsIndentationAndNewline()
    {
        Assert.Equal("a\n  1\nb", Render("a\n  {{ n }}\nb", """{"n": 1}"""));
    }

    [Fact]
    public void Render_CommentLine_DisappearsWithItsNewline()
    {
        Assert.Equal("a\nb", Render("a\n  {# note\n spanning lines #}\nb"));
    }

    [Fact]
    public void Render_TemplateWithCrLfAndTrailingNewline_GivesLfAndDropsTheLastNewline()
    {
        Assert.Equal("a\nb", Render("a\r\nb\r\n"));
    }

    [Fact]
    public void Render_ClosingDelimiterInsideStringsOrNestedBraces_DoesNotEndTheTag()
    {
        Assert.Equal("%} }} {'a': {'b': 1}}", Render("{{ '%}' }} {{ '}}' }} {{ {'a': {'b': 1}} }}"));
    }

    [Fact]
    public void Render_LoopVariables_CountFromOneAndZeroAndMarkEnds()
    {
        const string template = "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.length }}"
                                + "{{ 'F' if loop.first }}{{ 'L' if loop.last }} {% endfor %}";

        Assert.Equal("1033F 2123 3213L ", Render(template));
    }

    [Fact]
    public void Render_LoopOverEmptySequence_RendersElse()
    {
        Assert.Equal("none", Render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}"));
    }

    [Fact]
    public void Render_LoopWithFilterAndLoopControls_SkipsAndStops()
    {
        Assert.Equal("1/3 3/3 ", Render("{% for n in range(6) if n is odd %}{% if n > 3 %}{% break %}{% endif %}{{ n }}/{{ loop.length }} {% endfor %}"));
    }

    [Fact]
    public void Render_TupleUnpackingOverItems_BindsKeyAndValueInInsertionOrder()
    {
        Assert.Equal("z=1;a=2;", Render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", """{"d": {"z": 1, "a": 2}}"""));
    }

    [Fact]
    public void Render_SetInsideLoop_DoesNotLeakButNamespaceDoes()
    {
        const string template = "{% set n = 0 %}{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set n = n + 1 %}"
                                + "{% set ns.n = ns.n + 1 %}{% endfor %}{{ n }} {{ ns.n }}";

        Assert.Equal("0 3", Render(template));
    }

    [Fact]
    public void Render_AttributeAssignmentOnNonNamespace_ThrowsRuntimeError()
    {
        var error = Assert.Throws<TemplateRuntimeException>(() => Render("{% set d = {} %}\n{% set d.x = 1 %}"));

        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Render_Slices_FollowPython()
    {
        Assert.Equal("[3, 2, 1] bc [2] a", Render("{{ l[::-1] }} {{ 'abc'[1:] }} {{ l[1:-1] }} {{ 'abc'[:1] }}", """{"l": [1, 2, 3]}"""));
    }

    [Fact]
    public void Render_FiltersBindTighterThanPlus_TrimOnlyTheOperand()
    {
        Assert.Equal("<x>", Render("{{ '<' + s | trim + '>' }}", """{"s": "  x  "}"""));
    }

    [Fact]
    public void Render_PythonValues_PrintAsPythonDoes()
    {
        Assert.Equal("1.0 2 0.5 True None ['a', 1.5, None] {'k': False}",
            Render("{{ f }} {{ i }} {{ 1 / 2 }} {{ true }} {{ none }} {{ ['a', 1.5, none] }} {{ {'k': false} }}", """{"f": 1.0, "i": 2}"""));
    }

    [Fact]
    public void Render_Tojson_MatchesPythonJsonDumpsWithHfDefaults()
    {
        const string variables = """{"v": {"b": [1, 2.0, null, true], "a": "é\"\n"}}""";

        Assert.Equal("""{"b": [1, 2.0, null, true], "a": "é\"\n"}""", Render("{{ v | tojson }}", variables));
        Assert.Equal("""{"a": "\u00e9\"\n", "b": [1, 2.0, null, true]}""", Render("{{ v | tojson(ensure_ascii=true, sort_keys=true) }}", variables));
        Assert.Equal("{\n  \"x\": [\n    1\n  ]\n}", Render("{{ {'x': [1]} | tojson(indent=2) }}"));
        Assert.Equal("""{"x":[1,2]}""", Render("{{ {'x': [1, 2]} | tojson(separators=(',', ':')) }}"));
    }

    [Fact]
    public void Render_StringMethodsAndDictMethods_BehaveAsPython()
    {
        Assert.Equal("a b|['x', 'y']|True|dflt|k",
            Render("{{ s.strip() }}|{{ 'x,y'.split(',') }}|{{ s.lstrip().startswith('a') }}|{{ d.get('no', 'dflt') }}|{{ d.keys() | first }}",
                """{"s": "  a b  ", "d": {"k": 1}}"""));
    }

    [Fact]
    public void Render_UndefinedValues_PrintEmptyIterateEmptyAndAreFalsy()
    {
        Assert.Equal("[][][no][0][yes]", Render("[{{ missing }}][{% for x in missing %}x{% endfor %}][{{ 'yes' if missing else 'no' }}][{{ missing | length }}][{{ d.none_such | default('yes') }}]",
            """{"d": {}}"""));
    }

    [Fact]
    public void Render_AttributeOfUndefined_ThrowsNamingTheVariableAndLine()
    {
        var error = Assert.Throws<TemplateRuntimeException>(() => Render("ok\n\n{{ missing.attr }}"));

        Assert.Equal(3, error.Line);
        Assert.Contains("'missing' is undefined", error.Message);
    }

    [Fact]
    public void Render_ArithmeticOnMissingKey_ThrowsNamingTheKey()
    {
        var error = Assert.Throws<TemplateRuntimeException>(() => Render("{{ m.content + '!' }}", """{"m": {"role": "user"}}"""));

        Assert.Contains("'dict object' has no attribute 'content'", error.Message);
    }

    [Fact]
    public void Render_MutatingListMethod_IsRefusedAsInHfsImmutableSandbox()
    {
        Assert.Throws<TemplateRuntimeException>(() => Render("{% set l = [] %}{{ l.append(1) }}"));
    }

    [Fact]
    public void Render_RaiseException_ThrowsExactlyTheTemplatesMessage()
    {
        var error = Assert.Throws<TemplateRaisedException>(() => Render("{{ raise_exception('Roles must alternate ' ~ 2) }}"));

        Assert.Equal("Roles must alternate 2", error.Message);
    }

    [Fact]
    public void Render_UnknownFilter_ThrowsRuntimeErrorWithLine()
    {
        var error = Assert.Throws<TemplateRuntimeException>(() => Render("\n{{ 'x' | shout }}"));

        Assert.Equal(2, error.Line);
        Assert.Contains("shout", error.Message);
    }

    [Fact]
    public void Parse_UnclosedIf_ThrowsSyntaxErrorNamingTheExpectedTagsAndLine()
    {
        var error = Assert.Throws<TemplateSyntaxException>(() => new ChatTemplate("a\n{% if x %}\nb\nc"));

        Assert.Equal(4, error.Line);
        Assert.Contains("'{% endif %}'", error.Message);
        Assert.Contains("template line 4", error.Message);
    }

    [Fact]
    public void Parse_UnknownTag_ThrowsSyntaxErrorWithItsLine()
    {
        var error = Assert.Throws<TemplateSyntaxException>(() => new ChatTemplate("a\n\n{% include 'x.jinja' %}"));

        Assert.Equal(3, error.Line);
        Assert.Contains("'include'", error.Message);
    }

    [Fact]
    public void Render_ErrorAfterStrippedNewlines_StillCountsThemInTheLine()
    {
        var error = Assert.Throws<TemplateRuntimeException>(() => Render("a\n\n\n{%- if true -%}\n\n{{ missing.x }}{% endif %}"));

        Assert.Equal(6, error.Line);
    }

    [Fact]
    public void Parse_BadExpression_ThrowsSyntaxErrorWithItsLine()
    {
        var error = Assert.Throws<TemplateSyntaxException>(() => new ChatTemplate("{{ a }}\n{{ a + }}"));

        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Render_Macro_WithDefaultsAndKeywordArguments()
    {
        Assert.Equal("Hi Bob! Hi Al?", Render("{% macro hi(who, p='!') %}Hi {{ who }}{{ p }}{% endmacro %}{{ hi('Bob') }} {{ hi(p='?', who='Al') }}"));
    }

    [Fact]
    public void Render_GenerationBlock_RendersItsBody()
    {
        Assert.Equal("A:x", Render("A:{% generation %}x{% endgeneration %}"));
    }

    [Fact]
    public void Render_StrftimeNow_FormatsTheClocksLocalTime()
    {
        var template = new ChatTemplate("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%-d %B') }}")
        {
            Clock = new FixedClock(new DateTimeOffset(2025, 7, 4, 9, 0, 0, TimeSpan.Zero)),
        };

        Assert.Equal("04 Jul 2025|4 July", template.Render([], addGenerationPrompt: false));
    }

    [Fact]
    public void Render_ContextVariables_MessagesToolsGenerationPromptAndExtra()
    {
        var template = new ChatTemplate(
            "{{ messages | length }} {{ messages[0].role }} {{ tools is none }} {{ add_generation_prompt }} {{ enable_thinking }} {{ bos_token }}",
            new Dictionary<string, string> { ["bos_token"] = "<s>" });

        var text = template.Render([new ChatMessage("user", "hi")], addGenerationPrompt: true, extra: new Dictionary<string, object?> { ["enable_thinking"] = false });

        Assert.Equal("1 user True True False <s>", text);
    }

    [Fact]
    public void Render_MessageFromJsonWithToolCalls_ExposesEveryField()
    {
        using var json = JsonDocument.Parse("""
            {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1.5}}}]}
            """);
        var message = ChatMessage.FromJson(json.RootElement);
        var template = new ChatTemplate("{% for m in messages %}{{ m.content is none }} {{ m.tool_calls[0].function.name }}{{ m.tool_calls[0].function.arguments | tojson }}{% endfor %}");

        Assert.Equal("""True f{"x": 1.5}""", template.Render([message], addGenerationPrompt: false));
    }
}
