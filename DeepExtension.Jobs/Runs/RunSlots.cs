using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// Limits how many runs train at once on one device (default one: two trainings on one GPU mostly fight over
/// its memory). Queued runs wait here, still Queued, until a slot frees.
/// </summary>
public sealed class RunSlots(IConfiguration configuration)
{
    public const string MaxConcurrentKey = "DeepExtension:Training:MaxConcurrentRunsPerDevice";

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _devices = new(StringComparer.Ordinal);
    private readonly int _perDevice = Math.Max(1, configuration.GetValue(MaxConcurrentKey, 1));

    public async Task<IDisposable> AcquireAsync(string device, CancellationToken cancellationToken)
    {
        // "auto" lands on the machine's accelerator when there is one: it shares that device's slots.
        // Other GPUs than the first ("cuda:1", ...) have slots of their own.
        var key = device switch { "cpu" => "cpu", "auto" or "cuda" or "cuda:0" => "accelerator", _ => device };
        var semaphore = _devices.GetOrAdd(key, _ => new SemaphoreSlim(_perDevice, _perDevice));
        await semaphore.WaitAsync(cancellationToken);
        return new Release(semaphore);
    }

    private sealed class Release(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) semaphore.Release();
        }
    }
}
