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
        var files = new List<string>();
        try
        {
            foreach (var file in new[] { sqliteFile, sqliteFile + "-wal" }.Where(File.Exists))
            {
                // SQLite removes its WAL when the last connection closes; one gone since it was seen needs no protecting.
                if (Chattr("+i", [file]) is { } error && File.Exists(file)) throw error;
                if (File.Exists(file)) files.Add(file);
            }
        }
        catch
        {
            Chattr("-i", files); // never leave a file immutable that nothing will restore
            throw;
        }
        return new UnwritableDatabase(files);
    }

    public bool IsRestored { get; private set; }

    public void Restore()
    {
        if (IsRestored) return;
        IsRestored = true;
        if (Chattr("-i", _files) is { } error) throw error;
    }

    public void Dispose() => Restore();

    /// <summary>Runs chattr; the failure to throw, or null.</summary>
    private static InvalidOperationException? Chattr(string flag, IReadOnlyList<string> files)
    {
        if (files.Count == 0) return null;
        var start = new ProcessStartInfo("chattr") { RedirectStandardError = true };
        start.ArgumentList.Add(flag);
        foreach (var file in files) start.ArgumentList.Add(file);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null
            : new InvalidOperationException($"chattr {flag} failed ({process.ExitCode}): {error.Trim()}. The database fault tests need root and a file system with the immutable flag.");
    }
}
