using System.Diagnostics;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Makes a SQLite database refuse writes, as the original fault did: the file and its WAL made immutable with
/// <c>chattr +i</c>, which even root and connections already open cannot write through (new connections open it
/// read-only). The shared-memory index stays writable: SQLite maps it into memory, and a store into a mapping of an
/// immutable file kills the process with SIGBUS, which no database outage does. Disposing (or
/// <see cref="Restore"/>) makes them writable again. Needs root (CAP_LINUX_IMMUTABLE) and a file system with the flag.
/// </summary>
public sealed class UnwritableDatabase : IDisposable
{
    private readonly List<string> _files;

    private UnwritableDatabase(List<string> files) => _files = files;

    public static UnwritableDatabase Make(string sqliteFile)
    {
        var files = new[] { sqliteFile, sqliteFile + "-wal" }.Where(File.Exists).ToList();
        Chattr("+i", files);
        return new UnwritableDatabase(files);
    }

    public bool IsRestored { get; private set; }

    public void Restore()
    {
        if (IsRestored) return;
        IsRestored = true;
        Chattr("-i", _files);
    }

    public void Dispose() => Restore();

    private static void Chattr(string flag, IReadOnlyList<string> files)
    {
        var start = new ProcessStartInfo("chattr") { RedirectStandardError = true };
        start.ArgumentList.Add(flag);
        foreach (var file in files) start.ArgumentList.Add(file);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"chattr {flag} failed ({process.ExitCode}): {error.Trim()}. The database fault tests need root and a file system with the immutable flag.");
        }
    }
}
