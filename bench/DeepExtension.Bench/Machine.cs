using System.Runtime.InteropServices;

namespace DeepExtension.Bench;

/// <summary>What the numbers were measured on, printed at the top of every benchmark.</summary>
internal static class Machine
{
    public static IEnumerable<string> Describe()
    {
        yield return $"date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}";
        yield return $"CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores available to the process";
        yield return $"RAM: {MemTotal()}";
        yield return $"OS: {OsName()} ({RuntimeInformation.OSDescription.Trim()}), {RuntimeInformation.OSArchitecture}";
        yield return $".NET: {RuntimeInformation.FrameworkDescription}, GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}";
        yield return $"load average (1/5/15 min) at start: {LoadAverage()} (other work on the machine shares its cores)";
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string CpuModel()
    {
        if (!File.Exists("/proc/cpuinfo")) return RuntimeInformation.ProcessArchitecture.ToString();
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
    }

    private static string MemTotal()
    {
        if (!File.Exists("/proc/meminfo")) return "n/a";
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        return $"{kb / 1024.0 / 1024.0:0.0} GiB";
    }

    private static string OsName()
    {
        if (!File.Exists("/etc/os-release")) return "unknown";
        var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
        return line?["PRETTY_NAME=".Length..].Trim('"') ?? "unknown";
    }
}
