namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>Any failure to parse or render a chat template.</summary>
public class TemplateException(string message) : Exception(message);

/// <summary>The template text is not valid (for this Jinja subset); the message names the line.</summary>
public sealed class TemplateSyntaxException(string message, int line)
    : TemplateException($"{message} (template line {line})")
{
    public int Line { get; } = line;
}

/// <summary>Rendering failed (undefined value used, wrong types, unknown filter); the message names the line.</summary>
public sealed class TemplateRuntimeException(string message, int line)
    : TemplateException($"{message} (template line {line})")
{
    public int Line { get; } = line;
}

/// <summary>
/// The template itself refused the input through <c>raise_exception(message)</c>, as HF templates do for
/// unsupported roles or orderings. <see cref="Exception.Message"/> is exactly the template's message.
/// </summary>
public sealed class TemplateRaisedException(string message) : TemplateException(message);
