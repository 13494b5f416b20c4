using System.Diagnostics;
using System.Globalization;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// Tells a worker when the console (or node) that started it is gone, so that it checkpoints and exits instead of
/// training on as an orphan that nobody watches. The parent's id comes from <see cref="WorkerLauncher.ParentPidVariable"/>;
/// on Linux the worker's own parent id changing (to 1 or a subreaper) is the sign, which a reused process id cannot fool.
/// </summary>
public sealed class ParentWatch : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly int _parentPid;
    private readonly Action _gone;
    private readonly Timer _timer;
    private int _fired;

    private ParentWatch(int parentPid, Action gone)
    {
        _parentPid = parentPid;
        _gone = gone;
        _timer = new Timer(_ => Check(), null, Interval, Interval);
    }

    /// <summary>Watches the parent named in the environment; null when the worker was started by hand (nothing to watch).</summary>
    public static ParentWatch? Start(Action gone) =>
        int.TryParse(Environment.GetEnvironmentVariable(WorkerLauncher.ParentPidVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            ? new ParentWatch(pid, gone)
            : null;

    private void Check()
    {
        if (ParentAlive() || Interlocked.Exchange(ref _fired, 1) == 1) return;
        _timer.Change(Timeout.Infinite, Timeout.Infinite);
        _gone();
    }

    private bool ParentAlive()
    {
        if (OperatingSystem.IsLinux() && ParentOfThisProcess() is { } parent) return parent == _parentPid;
        try
        {
            using var process = Process.GetProcessById(_parentPid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // /proc/self/stat: "pid (comm) state ppid ..."; the name may hold spaces and parentheses, so read after the last ')'.
    private static int? ParentOfThisProcess()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose() => _timer.Dispose();
}
