using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Controls;

public partial class TruncatedText
{
    [Inject]
    public required BrowserInterop Browser { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Parameter, EditorRequired]
    public string? Text { get; set; }

    /// <summary>Monospace (technical names, paths).</summary>
    [Parameter]
    public bool Mono { get; set; }

    [Parameter]
    public bool Bold { get; set; }

    /// <summary>Shows the copy button (on by default).</summary>
    [Parameter]
    public bool Copy { get; set; } = true;

    /// <summary>The widest the text may grow (CSS length) before it is cut; by default the column decides.</summary>
    [Parameter]
    public string? MaxWidth { get; set; }

    [Parameter]
    public string? TestId { get; set; }

    /// <summary>
    /// Breaks the text over lines instead of cutting it: for names whose distinguishing part is at the end
    /// (an Ollama tag, a train's suffix), where an ellipsis would make several rows read alike.
    /// </summary>
    [Parameter]
    public bool Wrap { get; set; }

    private string TextClass => "de-truncate-text" + (Bold ? " de-bold" : "") + (Wrap ? " de-wrap" : "");

    private async Task CopyAsync()
    {
        var copied = await Browser.CopyAsync(Text ?? "");
        Snackbar.Add(copied ? $"Copied {Text}" : "The browser did not allow copying; select the text instead.", copied ? Severity.Normal : Severity.Warning);
    }
}
