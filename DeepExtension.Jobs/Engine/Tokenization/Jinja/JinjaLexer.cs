using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>
/// Splits a template into text and tag tokens, applying whitespace control as Hugging Face's Jinja
/// environment does: <c>trim_blocks</c> (drop the newline after a block or comment tag),
/// <c>lstrip_blocks</c> (drop the indentation before one), "-" (strip all whitespace on that side of the
/// tag) and "+" (keep it). Newlines are normalized and one trailing newline dropped (keep_trailing_newline=False).
/// </summary>
internal sealed partial class JinjaLexer
{
    // Longest first, so "**" is never read as two "*".
    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    private readonly string _source;
    private readonly List<JinjaToken> _tokens = [];
    private int _position;
    private int _line = 1;

    private JinjaLexer(string source) => _source = source;

    public static IReadOnlyList<JinjaToken> Tokenize(string template)
    {
        var source = NewLine().Replace(template, "\n");
        if (source.EndsWith('\n')) source = source[..^1];
        var lexer = new JinjaLexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        var lineStarting = true;
        while (_position < _source.Length)
        {
            var tagStart = FindTagStart(_position);
            if (tagStart < 0)
            {
                AddText(_source[_position..], _source[_position..]);
                break;
            }

            var kind = _source[tagStart + 1];
            var sign = tagStart + 2 < _source.Length && _source[tagStart + 2] is '-' or '+' ? _source[tagStart + 2] : '\0';
            var raw = _source[_position..tagStart];
            AddText(TextBeforeTag(raw, kind, sign, lineStarting), raw);
            _position = tagStart + (sign == '\0' ? 2 : 3);

            lineStarting = kind switch
            {
                '#' => SkipComment(),
                '{' => LexTag(TokenKind.VariableStart, TokenKind.VariableEnd, "}}"),
                _ => LexTag(TokenKind.BlockStart, TokenKind.BlockEnd, "%}"),
            };
        }
        _tokens.Add(new JinjaToken(TokenKind.End, "", _line));
    }

    private static string TextBeforeTag(string text, char kind, char sign, bool lineStarting)
    {
        if (sign == '-') return text.TrimEnd();
        if (sign == '+' || kind == '{') return text;
        // lstrip_blocks: indentation alone on its line before a block or comment tag goes.
        var lineStart = text.LastIndexOf('\n') + 1;
        var indentation = text.AsSpan(lineStart);
        return (lineStart > 0 || lineStarting) && indentation.Length > 0 && indentation.IsWhiteSpace()
            ? text[..lineStart]
            : text;
    }

    private int FindTagStart(int from)
    {
        for (var i = _source.IndexOf('{', from); i >= 0 && i + 1 < _source.Length; i = _source.IndexOf('{', i + 1))
        {
            if (_source[i + 1] is '{' or '%' or '#') return i;
        }
        return -1;
    }

    // Lines are counted on the source text, including newlines that whitespace control removed.
    private void AddText(string text, string source)
    {
        if (text.Length > 0) _tokens.Add(new JinjaToken(TokenKind.Text, text, _line));
        _line += source.Count(c => c == '\n');
    }

    /// <summary>Skips a comment; returns whether what it consumed ends a line (for lstrip_blocks).</summary>
    private bool SkipComment()
    {
        var startLine = _line;
        var end = _source.IndexOf("#}", _position, StringComparison.Ordinal);
        if (end < 0) throw new TemplateSyntaxException("Unclosed comment: '{#' without '#}'", startLine);
        CountLines(_position, end);
        _position = end + 2;
        return SkipAfterTag(_source[end - 1], trimNewline: true);
    }

    /// <summary>Lexes the expression tokens of a {{ }} or {% %} tag; returns whether its end consumed a newline.</summary>
    private bool LexTag(TokenKind startKind, TokenKind endKind, string closing)
    {
        _tokens.Add(new JinjaToken(startKind, "", _line));
        var openBrackets = 0;
        while (true)
        {
            SkipWhitespace();
            if (_position >= _source.Length)
                throw new TemplateSyntaxException($"Unclosed tag: expected '{closing}' before the end of the template", _line);

            // Like Jinja, a closing delimiter only counts outside brackets ("{{ {'a': {'b': 1}} }}").
            if (openBrackets == 0 && ClosingAt(closing) is var signed and >= 0)
            {
                var sign = signed == 1 ? _source[_position] : '\0';
                _position += closing.Length + signed;
                _tokens.Add(new JinjaToken(endKind, "", _line));
                return SkipAfterTag(sign, trimNewline: endKind == TokenKind.BlockEnd);
            }

            var token = LexExpressionToken();
            if (token.Kind == TokenKind.Operator)
            {
                if (token.Value is "(" or "[" or "{") openBrackets++;
                else if (token.Value is ")" or "]" or "}") openBrackets = Math.Max(0, openBrackets - 1);
            }
            _tokens.Add(token);
        }
    }

    // -1: not at the closing delimiter; 0: plain; 1: preceded by a "-" or "+" sign.
    private int ClosingAt(string closing)
    {
        if (string.CompareOrdinal(_source, _position, closing, 0, closing.Length) == 0) return 0;
        var signed = _source[_position] is '-' or '+' &&
                     string.CompareOrdinal(_source, _position + 1, closing, 0, closing.Length) == 0;
        return signed ? 1 : -1;
    }

    private bool SkipAfterTag(char sign, bool trimNewline)
    {
        var start = _position;
        if (sign == '-')
        {
            while (_position < _source.Length && char.IsWhiteSpace(_source[_position])) _position++;
        }
        else if (sign != '+' && trimNewline && _position < _source.Length && _source[_position] == '\n')
        {
            _position++;
        }
        CountLines(start, _position);
        return _position > start && _source[_position - 1] == '\n';
    }

    private void SkipWhitespace()
    {
        while (_position < _source.Length && char.IsWhiteSpace(_source[_position]))
        {
            if (_source[_position] == '\n') _line++;
            _position++;
        }
    }

    private void CountLines(int from, int to)
    {
        for (var i = from; i < to; i++)
            if (_source[i] == '\n') _line++;
    }

    private JinjaToken LexExpressionToken()
    {
        var c = _source[_position];
        if (c is '\'' or '"') return LexString(c);
        if (char.IsAsciiDigit(c)) return LexNumber();
        if (char.IsAsciiLetter(c) || c == '_')
        {
            var start = _position;
            while (_position < _source.Length && (char.IsAsciiLetterOrDigit(_source[_position]) || _source[_position] == '_')) _position++;
            return new JinjaToken(TokenKind.Name, _source[start.._position], _line);
        }
        foreach (var op in Operators)
        {
            if (string.CompareOrdinal(_source, _position, op, 0, op.Length) != 0) continue;
            _position += op.Length;
            return new JinjaToken(TokenKind.Operator, op, _line);
        }
        throw new TemplateSyntaxException($"Unexpected character '{c}' inside a tag", _line);
    }

    private JinjaToken LexNumber()
    {
        var match = Number().Match(_source, _position);
        _position += match.Length;
        var text = match.Value.Replace("_", "");
        var isFloat = text.Contains('.') || text.Contains('e') || text.Contains('E');
        return new JinjaToken(isFloat ? TokenKind.Float : TokenKind.Integer, text, _line);
    }

    private JinjaToken LexString(char quote)
    {
        var line = _line;
        var value = new StringBuilder();
        _position++;
        while (true)
        {
            if (_position >= _source.Length) throw new TemplateSyntaxException("Unterminated string literal", line);
            var c = _source[_position++];
            if (c == quote) return new JinjaToken(TokenKind.String, value.ToString(), line);
            if (c == '\n') _line++;
            if (c != '\\' || _position >= _source.Length)
            {
                value.Append(c);
                continue;
            }
            AppendEscape(value);
        }
    }

    // Jinja decodes string literals with Python's unicode-escape rules; unknown escapes stay as written.
    private void AppendEscape(StringBuilder value)
    {
        var e = _source[_position++];
        switch (e)
        {
            case 'n': value.Append('\n'); break;
            case 't': value.Append('\t'); break;
            case 'r': value.Append('\r'); break;
            case '0': value.Append('\0'); break;
            case 'a': value.Append('\a'); break;
            case 'b': value.Append('\b'); break;
            case 'f': value.Append('\f'); break;
            case 'v': value.Append('\v'); break;
            case '\\' or '\'' or '"': value.Append(e); break;
            case '\n': _line++; break;
            case 'x': AppendCodePoint(value, 2); break;
            case 'u': AppendCodePoint(value, 4); break;
            case 'U': AppendCodePoint(value, 8); break;
            default: value.Append('\\').Append(e); break;
        }
    }

    private void AppendCodePoint(StringBuilder value, int digits)
    {
        if (_position + digits > _source.Length ||
            !int.TryParse(_source.AsSpan(_position, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
            throw new TemplateSyntaxException($"Invalid \\x/\\u escape in a string literal", _line);
        value.Append(char.ConvertFromUtf32(code));
        _position += digits;
    }

    [GeneratedRegex(@"\r\n|\r|\n")]
    private static partial Regex NewLine();

    [GeneratedRegex(@"\G(\d+_)*\d+((\.(\d+_)*\d+)?[eE][+\-]?(\d+_)*\d+|\.(\d+_)*\d+)?")]
    private static partial Regex Number();
}
