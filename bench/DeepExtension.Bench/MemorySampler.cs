using System.Diagnostics;

namespace DeepExtension.Bench;

/// <summary>
/// Samples the process's resident set (RSS, native memory included) and the managed heap every 50 ms on a thread of
/// its own, and reads the kernel's high-water mark (VmHWM) of /proc/self/status, which catches peaks between samples.
/// </summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public long PeakRssBytes { get; private set; }
    public long PeakManagedBytes { get; private set; }
    public int Samples { get; private set; }

    public MemorySampler(TimeSpan? interval = null)
    {
        var wait = interval ?? TimeSpan.FromMilliseconds(50);
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                Sample();
                Thread.Sleep(wait);
            }
        }) { IsBackground = true, Name = "memory sampler" };
        Sample();
        _thread.Start();
    }

    private void Sample()
    {
        var rss = CurrentRssBytes();
        var managed = GC.GetTotalMemory(false);
        if (rss > PeakRssBytes) PeakRssBytes = rss;
        if (managed > PeakManagedBytes) PeakManagedBytes = managed;
        Samples++;
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        Sample();
    }

    /// <summary>VmRSS now (from /proc/self/status on Linux; the process's working set elsewhere).</summary>
    public static long CurrentRssBytes() => ProcStatusKb("VmRSS") is { } kb ? kb * 1024 : Environment.WorkingSet;

    /// <summary>The kernel's peak RSS of this process (VmHWM), or null off Linux.</summary>
    public static long? HighWaterMarkBytes() => ProcStatusKb("VmHWM") is { } kb ? kb * 1024 : null;

    /// <summary>Resets VmHWM to the current RSS (Linux ≥ 4.0: "5" > /proc/self/clear_refs); false if not possible.</summary>
    public static bool ResetHighWaterMark()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ProcStatusKb(string key)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
            var parts = line[(key.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    public static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    public static double Seconds(Stopwatch clock) => clock.Elapsed.TotalSeconds;
}
