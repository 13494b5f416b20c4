using MudBlazor;

namespace DeepExtension.Web.Components.Dialogs;

public static class ConfirmDialogExtensions
{
    /// <summary>Asks before a destructive action, naming what goes and what stays; true when the user confirmed.</summary>
    public static async Task<bool> ConfirmAsync(this IDialogService dialogs, string title, IReadOnlyList<string> goes, IReadOnlyList<string> stays,
        string confirmText = "Delete", string keepText = "Keep")
    {
        var dialog = await dialogs.ShowAsync<ConfirmDialog>(title, new DialogParameters<ConfirmDialog>
        {
            { d => d.Title, title },
            { d => d.Goes, goes },
            { d => d.Stays, stays },
            { d => d.ConfirmText, confirmText },
            { d => d.KeepText, keepText },
        }, new DialogOptions { MaxWidth = MaxWidth.Small, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        return result is { Canceled: false };
    }
}
