using DeepExtension.Core.Work;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// Keeps a <see cref="WorkLeaseGrant"/> alive: renews it every third of its duration. The lease counts as lost when a
/// renewal finds another token (someone took it) or when no renewal has succeeded for most of its duration (the
/// database unreachable): the holder stops before the database would let anyone else take it, so two holders never
/// write at once. <see cref="Lost"/> is cancelled then, and <see cref="IsHeld"/> turns false for good.
/// </summary>
public sealed class WorkLeaseHeartbeat : IAsyncDisposable
{
    private readonly WorkLeaseStore _store;
    private readonly TimeSpan _duration;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _loop;
    private DateTime _heldUntilUtc;
    private WorkLeaseGrant _lease;

    public WorkLeaseHeartbeat(WorkLeaseStore store, WorkLeaseGrant lease, TimeSpan duration)
    {
        _store = store;
        _lease = lease;
        _duration = duration;
        _heldUntilUtc = DateTime.UtcNow + SafeShare(duration);
        _loop = Task.Run(LoopAsync);
    }

    public WorkLeaseGrant Lease => _lease;

    public bool IsHeld => !_lost.IsCancellationRequested && DateTime.UtcNow < _heldUntilUtc;

    /// <summary>Cancelled when the lease is lost.</summary>
    public CancellationToken Lost => _lost.Token;

    // The holder's own deadline: short of the database's expiry by a margin for clocks and slow statements.
    private static TimeSpan SafeShare(TimeSpan duration) => duration * 5 / 6;

    private async Task LoopAsync()
    {
        var interval = _duration / 3;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var asked = DateTime.UtcNow;
            try
            {
                var renewed = await _store.RenewAsync(_lease, _duration, _stop.Token);
                if (renewed is null)
                {
                    await _lost.CancelAsync();
                    return;
                }
                _lease = renewed;
                _heldUntilUtc = asked + SafeShare(_duration);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // The database did not answer: try again at the next beat, unless the lease has run out meanwhile.
            }
            if (DateTime.UtcNow >= _heldUntilUtc)
            {
                await _lost.CancelAsync();
                return;
            }
        }
    }

    /// <summary>Stops renewing (the lease runs out by itself unless released).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _lost.Dispose();
    }
}
