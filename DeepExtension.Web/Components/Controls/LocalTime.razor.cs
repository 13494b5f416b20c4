using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class LocalTime
{
    [Inject]
    public required BrowserInterop Browser { get; init; }

    /// <summary>A time as stored (UTC; Unspecified from the database counts as UTC).</summary>
    [Parameter, EditorRequired]
    public DateTime? Utc { get; set; }

    // UTC until the browser has said its zone (prerendering has no browser to ask).
    private TimeZoneInfo _zone = TimeZoneInfo.Utc;

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        var zone = await Browser.TimeZoneAsync();
        if (zone.Id != _zone.Id)
        {
            _zone = zone;
            StateHasChanged();
        }
    }
}
