namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>A runtime failure raised by values, filters and operators; the evaluator adds the template line.</summary>
internal sealed class JinjaError(string message) : Exception(message);
