using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class ColumnChooser
{
    [Inject]
    public required BrowserInterop Browser { get; init; }

    [Parameter, EditorRequired]
    public required TableColumns Columns { get; set; }

    /// <summary>Raised after a column was shown or hidden, and after the stored choice was read: the table re-renders.</summary>
    [Parameter]
    public EventCallback Changed { get; set; }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        var stored = await Browser.LoadSettingAsync(Columns.StorageKey);
        if (stored is null) return;
        // Stored as "shown|known": columns added to the table later keep their default.
        var parts = stored.Split('|');
        Columns.Restore(parts[0], parts.Length > 1 ? parts[1].Split(',') : []);
        await Changed.InvokeAsync();
    }

    private async Task ToggleAsync(string key)
    {
        Columns.Set(key, !Columns.Shows(key));
        await Browser.SaveSettingAsync(Columns.StorageKey, Columns.Serialize() + "|" + string.Join(',', Columns.Columns.Select(c => c.Key)));
        await Changed.InvokeAsync();
    }
}
