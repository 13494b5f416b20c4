using Microsoft.JSInterop;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// The browser-side helpers of wwwroot/js/deepx.js for one circuit: clipboard, the user's time zone and per-browser
/// settings (localStorage). Scoped, so the module is imported and the time zone asked once per circuit.
/// </summary>
public sealed class BrowserInterop(IJSRuntime js) : IAsyncDisposable
{
    private Task<IJSObjectReference>? _module;
    private Task<TimeZoneInfo>? _zone;

    private Task<IJSObjectReference> Module => _module ??= js.InvokeAsync<IJSObjectReference>("import", "./js/deepx.js").AsTask();

    /// <summary>The browser's time zone; UTC where it is unknown to this server or cannot be asked.</summary>
    public Task<TimeZoneInfo> TimeZoneAsync() => _zone ??= AskTimeZoneAsync();

    private async Task<TimeZoneInfo> AskTimeZoneAsync()
    {
        try
        {
            var id = await (await Module).InvokeAsync<string>("timeZone");
            return id is { Length: > 0 } && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
        }
        catch (Exception ex) when (ex is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
            _zone = null;
            return TimeZoneInfo.Utc;
        }
    }

    public async Task<bool> CopyAsync(string text)
    {
        try
        {
            return await (await Module).InvokeAsync<bool>("copyText", text);
        }
        catch (Exception ex) when (ex is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
            return false;
        }
    }

    public async Task<string?> LoadSettingAsync(string key)
    {
        try
        {
            return await (await Module).InvokeAsync<string?>("loadSetting", key);
        }
        catch (Exception ex) when (ex is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
            return null;
        }
    }

    public async Task SaveSettingAsync(string key, string value)
    {
        try
        {
            await (await Module).InvokeVoidAsync("saveSetting", key, value);
        }
        catch (Exception ex) when (ex is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_module is { IsCompletedSuccessfully: true })
        {
            try
            {
                await _module.Result.DisposeAsync();
            }
            catch (JSDisconnectedException)
            {
            }
        }
    }
}
