namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

internal enum TokenKind
{
    Text,
    VariableStart,
    VariableEnd,
    BlockStart,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End,
}

/// <summary>One lexical token with the template line it starts on (for error messages).</summary>
internal readonly record struct JinjaToken(TokenKind Kind, string Value, int Line)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;

    public override string ToString() => Kind switch
    {
        TokenKind.End => "end of template",
        TokenKind.Text => "template text",
        _ => $"'{Value}'",
    };
}
