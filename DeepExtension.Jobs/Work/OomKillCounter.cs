using System.Globalization;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// How many processes the kernel's out-of-memory killer has killed in this process's memory cgroup (which the
/// workers it starts share): the <c>oom_kill</c> line of cgroup v2's <c>memory.events</c>, or of cgroup v1's
/// <c>memory.oom_control</c>. A rise across a worker's life that ends in SIGKILL is what lets an exit reason say
/// "out of memory"; without a counter the source of a kill is unknown.
/// </summary>
public sealed class OomKillCounter(IReadOnlyList<string> files)
{
    /// <summary>The counter files of this process's cgroup (v2, then v1; each also at the mount's root, as inside a container).</summary>
    public static OomKillCounter ForThisProcess()
    {
        var files = new List<string>();
        try
        {
            foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3) continue;
                var path = parts[2].TrimStart('/');
                if (parts[0] == "0" && parts[1].Length == 0)
                {
                    files.Add(Path.Combine("/sys/fs/cgroup", path, "memory.events"));
                    files.Add("/sys/fs/cgroup/memory.events");
                }
                else if (parts[1].Split(',').Contains("memory"))
                {
                    files.Add(Path.Combine("/sys/fs/cgroup/memory", path, "memory.oom_control"));
                    files.Add("/sys/fs/cgroup/memory/memory.oom_control");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or no cgroups visible: no counter.
        }
        return new OomKillCounter(files);
    }

    /// <summary>The counter now, or null when no file has one.</summary>
    public long? Read()
    {
        foreach (var file in files)
        {
            try
            {
                if (!File.Exists(file)) continue;
                foreach (var line in File.ReadLines(file))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts is ["oom_kill", var value] && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count)) return count;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    /// <summary>Whether the killer killed something between the two readings: true, false, or null when unknown.</summary>
    public static bool? KilledBetween(long? before, long? after) => before is { } b && after is { } a ? a > b : null;
}
