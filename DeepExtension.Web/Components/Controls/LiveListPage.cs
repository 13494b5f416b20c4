using DeepExtension.Core.Common;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

/// <summary>
/// A page whose list changes with background work (trains, saves, deployments): it loads once, then reloads when
/// this process's <see cref="WorkChanges"/> reports a change of the <see cref="WatchedWork"/>, and every
/// <see cref="FallbackInterval"/> in case the change happened in another process (a separate scheduler node).
/// </summary>
public abstract class LiveListPage : ComponentBase, IDisposable
{
    /// <summary>The slow poll behind the change events: work changed by another process shows up within this.</summary>
    public static readonly TimeSpan FallbackInterval = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _reloadSignal = new(0, 1);
    private IDisposable? _changes;

    [Inject]
    public required WorkChanges WorkChanges { get; init; }

    /// <summary>Cancelled when the page is disposed; pass it to the reads of <see cref="ReloadAsync"/>.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>The work whose changes reload this page.</summary>
    protected abstract ChangedWork WatchedWork { get; }

    protected abstract Task ReloadAsync();

    /// <summary>How often the page reloads without an event; a page showing state that lives outside the console overrides it.</summary>
    protected virtual TimeSpan PollInterval => FallbackInterval;

    protected override async Task OnInitializedAsync()
    {
        _changes = WorkChanges.Subscribe(kinds =>
        {
            if ((kinds & WatchedWork) != 0) RequestReload();
        });
        await ReloadAsync();
        _ = RefreshLoopAsync();
    }

    /// <summary>Reloads soon (several requests while one reload runs collapse into one more).</summary>
    protected void RequestReload()
    {
        try
        {
            if (_reloadSignal.CurrentCount == 0) _reloadSignal.Release();
        }
        catch (Exception ex) when (ex is SemaphoreFullException or ObjectDisposedException)
        {
        }
    }

    private async Task RefreshLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await _reloadSignal.WaitAsync(PollInterval, _stop.Token);
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
        catch (ObjectDisposedException)
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
        _changes?.Dispose();
        _stop.Cancel();
        _stop.Dispose();
    }
}
