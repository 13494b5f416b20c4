using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// Limits how many runs train at once on one device (default one: two trainings on one GPU mostly fight over
/// its memory). A run that finds no free slot stays Queued and its job is fired again later: waiting for a device
/// never holds a scheduler thread.
/// </summary>
public sealed class RunSlots(IConfiguration configuration)
{
    public const string MaxConcurrentKey = "DeepExtension:Training:MaxConcurrentRunsPerDevice";

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _devices = new(StringComparer.Ordinal);
    private readonly int _perDevice = Math.Max(1, configuration.GetValue(MaxConcurrentKey, 1));

    /// <summary>A slot of <paramref name="device"/>, or null when all are taken.</summary>
    public IDisposable? TryAcquire(string device) => TryAcquireExactly(SlotOf(device));

    /// <summary>The slots a run asking for <paramref name="device"/> takes one of on a machine that does not route runs.</summary>
    public static string SlotOf(string device) =>
        // "auto" lands on the machine's accelerator when there is one: it shares that device's slots.
        // Other GPUs than the first ("cuda:1", ...) have slots of their own.
        device switch { "cpu" => "cpu", "auto" or "cuda" or "cuda:0" => "accelerator", _ => device };

    /// <summary>A slot of one device as a node names it ("cpu", "cuda:1"), or null when all are taken (routing, see <see cref="Nodes.NodeDevices"/>).</summary>
    public IDisposable? TryAcquireExactly(string device)
    {
        var semaphore = _devices.GetOrAdd(device, _ => new SemaphoreSlim(_perDevice, _perDevice));
        return semaphore.Wait(0) ? new Work.WorkLimits.Release(semaphore) : null;
    }
}
