using DeepExtension.Core.Work;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// How every worker process owns the item it works on (a train, a save, an evaluation): it takes over the lease its
/// console handed it (<see cref="WorkerLauncher.LeaseTokenVariable"/>) or, started by hand, takes one itself; renews it
/// while it works; exits at once, writing nothing more, when the lease is lost (another owner has the item); and learns
/// when the console or node that started it is gone (<see cref="ParentGone"/>), so it can stop cleanly instead of working
/// on as an orphan. One place for what each worker command would otherwise repeat, or lack.
/// </summary>
public sealed class WorkerOwnership : IAsyncDisposable
{
    private readonly WorkLeaseStore _leases;
    private readonly WorkLeaseHeartbeat _heartbeat;
    private readonly CancellationTokenRegistration _onLost;
    private readonly ParentWatch? _parent;
    private readonly CancellationTokenSource _parentGone = new();
    private readonly bool _handedOver;

    private WorkerOwnership(WorkLeaseStore leases, WorkLeaseHeartbeat heartbeat, bool handedOver, string what, Action? onParentGone)
    {
        _leases = leases;
        _heartbeat = heartbeat;
        _handedOver = handedOver;
        _onLost = heartbeat.Lost.Register(() =>
        {
            try
            {
                Console.Error.WriteLine($"{what}: this worker lost its lease (token {heartbeat.Lease.Token}); it stops without writing.");
            }
            catch (IOException)
            {
                // Nobody reads its output any more (the console is gone): stop all the same.
            }
            Environment.Exit(WorkerExit.LeaseLost);
        });
        _parent = ParentWatch.Start(() =>
        {
            onParentGone?.Invoke();
            _parentGone.Cancel();
        });
    }

    public WorkLeaseGrant Lease => _heartbeat.Lease;

    /// <summary>Whether the lease is still held (writes are allowed).</summary>
    public bool IsHeld => _heartbeat.IsHeld;

    /// <summary>Cancelled when the process that started this worker is gone.</summary>
    public CancellationToken ParentGone => _parentGone.Token;

    /// <summary>
    /// The item's lease, or null (after saying who holds it on standard error) when another process owns the item: then
    /// the worker must exit with <see cref="WorkerExit.LeaseLost"/> without touching it.
    /// </summary>
    /// <param name="what">names the item in messages ("Run 1234…")</param>
    /// <param name="onParentGone">called once when the starting process is gone (before <see cref="ParentGone"/> is cancelled)</param>
    public static async Task<WorkerOwnership?> TakeAsync(IServiceProvider services, WorkKind kind, Guid itemId, string what, Action? onParentGone = null)
    {
        var leases = services.GetRequiredService<WorkStore>().Leases;
        var duration = services.GetRequiredService<WorkLimits>().LeaseDuration;
        var handedOver = long.TryParse(Environment.GetEnvironmentVariable(WorkerLauncher.LeaseTokenVariable), out var token);
        var lease = handedOver
            ? await leases.FindHeldAsync(kind, itemId, token)
            : await leases.TryAcquireAsync(kind, itemId, WorkLeaseStore.OwnerOf("worker"), duration);
        if (lease is null)
        {
            var holder = await leases.GetAsync(kind, itemId);
            await Console.Error.WriteLineAsync($"{what} is owned by another process ({holder?.Owner}, lease token {holder?.Token}); this worker does not run it.");
            return null;
        }
        return new WorkerOwnership(leases, new WorkLeaseHeartbeat(leases, lease, duration), handedOver, what, onParentGone);
    }

    public async ValueTask DisposeAsync()
    {
        _parent?.Dispose();
        await _onLost.DisposeAsync();
        await _heartbeat.DisposeAsync();
        // Nobody else releases an orphan's lease, nor one this worker took itself: the next owner need not wait for it to run out.
        if (_parentGone.IsCancellationRequested || !_handedOver)
        {
            try
            {
                await _leases.ReleaseAsync(_heartbeat.Lease);
            }
            catch (Exception ex)
            {
                await Console.Error.WriteLineAsync($"The lease could not be released ({ex.Message}); it runs out by itself.");
            }
        }
        _parentGone.Dispose();
    }
}
