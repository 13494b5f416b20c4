using System.Text;

namespace DeepExtension.Jobs.Engine.Tokenization.Jinja;

/// <summary>
/// Where rendering writes: the template's own output, or the capture of a macro call or set block.
/// The template's output also records where each <c>{% generation %}</c> block's text landed.
/// </summary>
internal sealed class TemplateOutput(bool isTemplateOutput)
{
    public StringBuilder Text { get; } = new();

    public bool IsTemplateOutput { get; } = isTemplateOutput;

    public List<(int Start, int End)> GenerationSpans { get; } = [];
}
