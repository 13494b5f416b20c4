using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// A page whose list changes in another process (training workers, merge jobs): it loads once, then reloads
/// from the database every <see cref="RefreshInterval"/> until the page goes away.
/// </summary>
public abstract class LiveListPage : ComponentBase, IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();

    /// <summary>Cancelled when the page is disposed; pass it to the reads of <see cref="ReloadAsync"/>.</summary>
    protected CancellationToken Stopping => _stop.Token;

    protected abstract Task ReloadAsync();

    protected override async Task OnInitializedAsync()
    {
        await ReloadAsync();
        _ = RefreshLoopAsync();
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await InvokeAsync(async () =>
                {
                    await ReloadAsync();
                    StateHasChanged();
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops the refresh loop; pages that hold more (live subscriptions) release it here too.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        _stop.Cancel();
        _stop.Dispose();
    }
}
