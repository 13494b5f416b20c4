using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using DeepExtension.Core.Work;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Core.Runs;

/// <summary>
/// Append-only JSON-lines files shared between a writing worker process and reading console processes.
/// Each append is one complete line in one write; readers only consume up to the last newline, so a line
/// being written is picked up by the next read, never half.
/// </summary>
public static class JsonLinesFile
{
    /// <summary>
    /// Appends one line in one write. Several processes append to the same file (a worker writes its log while the console
    /// that launched it records what it printed), so on Linux the file is opened with O_APPEND: the kernel puts each write
    /// at the end of the file as it is then. .NET's FileMode.Append does not (dotnet/runtime#53432): it takes the length at
    /// open and writes there, and an append of another process in between is overwritten. Measured here: two processes
    /// appending 20,000 lines each at once kept 34,921 of the 40,000.
    /// </summary>
    public static void Append(string path, string jsonLine)
    {
        var bytes = Encoding.UTF8.GetBytes(jsonLine + "\n");
        if (OperatingSystem.IsLinux())
        {
            LinuxAppend.Write(path, bytes);
            return;
        }
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(bytes);
        stream.Flush(flushToDisk: false);
    }

    private static class LinuxAppend
    {
        private const int WriteOnly = 0x1, Create = 0x40, AppendMode = 0x400, CloseOnExec = 0x80000;
        private const int Interrupted = 4, NoSuchFile = 2, NotPermitted = 1, AccessDenied = 13;

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        private static extern nint WriteBytes(int fd, ref byte buffer, nint count);

        [DllImport("libc", EntryPoint = "close")]
        private static extern int Close(int fd);

        public static void Write(string path, byte[] bytes)
        {
            int fd;
            do fd = Open(path, WriteOnly | Create | AppendMode | CloseOnExec, 0x1B6); // 0666, less the umask, as .NET creates files
            while (fd < 0 && Marshal.GetLastPInvokeError() == Interrupted);
            if (fd < 0) throw Failure(path);
            try
            {
                var written = 0;
                while (written < bytes.Length)
                {
                    var n = WriteBytes(fd, ref bytes[written], bytes.Length - written);
                    if (n < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == Interrupted) continue;
                        throw Failure(path);
                    }
                    written += (int)n;
                }
            }
            finally
            {
                Close(fd);
            }
        }

        /// <summary>The exceptions .NET's own file calls throw for the same errors.</summary>
        private static Exception Failure(string path)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = $"Could not append to {path}: {Marshal.GetPInvokeErrorMessage(errno)}";
            return errno switch
            {
                AccessDenied or NotPermitted => new UnauthorizedAccessException(message),
                NoSuchFile when !Directory.Exists(Path.GetDirectoryName(path)) => new DirectoryNotFoundException(message),
                NoSuchFile => new FileNotFoundException(message, path),
                _ => new IOException(message, errno),
            };
        }
    }

    /// <summary>Every complete line of the file, read in bounded chunks.</summary>
    public static List<string> ReadAll(string path)
    {
        long offset = 0;
        var all = new List<string>();
        List<string> batch;
        while ((batch = ReadNew(path, ref offset)).Count > 0) all.AddRange(batch);
        return all;
    }

    /// <summary>Reads the complete lines after <paramref name="offset"/> (a byte position) and advances it past them.</summary>
    public static List<string> ReadNew(string path, ref long offset, int maxBytes = 16 * 1024 * 1024) =>
        ReadNew(path, ref offset, line => Encoding.UTF8.GetString(line).TrimEnd('\r'), maxBytes);

    /// <summary>A parser of one line's UTF-8 bytes (without its newline).</summary>
    public delegate T? LineParser<T>(ReadOnlySpan<byte> line);

    /// <summary>As <see cref="ReadNew(string, ref long, int)"/>, handing each line's bytes to <paramref name="parse"/> (lines it rejects are left out).</summary>
    public static List<T> ReadNew<T>(string path, ref long offset, LineParser<T> parse, int maxBytes = 16 * 1024 * 1024)
    {
        var lines = new List<T>();
        ForEachNewLine(path, ref offset, line =>
        {
            if (parse(line) is { } parsed) lines.Add(parsed);
        }, maxBytes);
        return lines;
    }

    /// <summary>Takes one line's UTF-8 bytes (without its newline); the span is valid only during the call.</summary>
    public delegate void LineHandler(ReadOnlySpan<byte> line);

    /// <summary>
    /// Hands each complete line after <paramref name="offset"/> (at most <paramref name="maxBytes"/> of them) to
    /// <paramref name="handle"/> and advances the offset past them; returns how many lines were handed over.
    /// </summary>
    public static int ForEachNewLine(string path, ref long offset, LineHandler handle, int maxBytes = 16 * 1024 * 1024)
    {
        if (!File.Exists(path)) return 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length < offset)
        {
            offset = 0; // The file was replaced: start over rather than read garbage.
        }
        var available = (int)Math.Min(stream.Length - offset, maxBytes);
        if (available <= 0) return 0;

        var buffer = ArrayPool<byte>.Shared.Rent(available);
        try
        {
            stream.Seek(offset, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, available);
            var lastNewline = Array.LastIndexOf(buffer, (byte)'\n', available - 1);
            if (lastNewline < 0) return 0;

            var count = 0;
            var start = 0;
            while (start <= lastNewline)
            {
                var length = Array.IndexOf(buffer, (byte)'\n', start, lastNewline + 1 - start) - start;
                if (length > 0)
                {
                    handle(buffer.AsSpan(start, length));
                    count++;
                }
                start += length + 1;
            }
            offset += lastNewline + 1;
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// metrics.jsonl: one <see cref="MetricPoint"/> per line. Every read goes through <see cref="MetricLineReader"/> in file
/// order, so points written under an outdated lease are left out (see <see cref="LeaseFence"/>).
/// </summary>
public static class MetricsFile
{
    public static void Append(RunFiles run, MetricPoint point) => JsonLinesFile.Append(run.MetricsPath, point.ToJsonLine());

    /// <summary>The points after <paramref name="offset"/>; <paramref name="fence"/> carries what the lines before it said about the lease.</summary>
    public static List<MetricPoint> ReadNew(RunFiles run, ref long offset, LeaseFence fence)
    {
        var reader = new MetricLineReader(fence);
        var points = new List<MetricPoint>();
        JsonLinesFile.ForEachNewLine(run.MetricsPath, ref offset, line =>
        {
            if (reader.Read(line)) points.Add(MetricPoint.Of(reader));
        });
        return points;
    }

    /// <summary>Appends the points after <paramref name="offset"/> to <paramref name="history"/> (without a point object per line); how many lines were read.</summary>
    public static int ReadNew(RunFiles run, ref long offset, MetricHistory history) =>
        JsonLinesFile.ForEachNewLine(run.MetricsPath, ref offset, line => history.AppendLine(line));

    /// <summary>
    /// The whole file as columns (no point object per line): what a run's summary is computed from. Opens from the run's
    /// <see cref="MetricSnapshot"/> when it matches the file, and (re)writes the snapshot when many lines were parsed.
    /// </summary>
    public static MetricHistory ReadHistory(RunFiles run, ILogger? logger = null)
    {
        var history = ReadHistory(run, out var offset, out var snapshotRows);
        MetricSnapshot.CaptureIfStale(history, offset, snapshotRows)?.Save(run, logger);
        return history;
    }

    /// <summary>
    /// The whole file as columns: the rows of a valid snapshot (<paramref name="snapshotRows"/> of them, 0 without one),
    /// then the lines after the offset it covers. <paramref name="offset"/>: where the next read starts.
    /// </summary>
    internal static MetricHistory ReadHistory(RunFiles run, out long offset, out int snapshotRows)
    {
        var (history, covered) = MetricSnapshot.TryRead(run) ?? (new MetricHistory(), 0L);
        snapshotRows = history.Count;
        offset = covered;
        long before;
        do
        {
            before = offset;
            if (snapshotRows > 0 && new FileInfo(run.MetricsPath) is var file && (!file.Exists || file.Length < offset))
            {
                // Rewritten since the snapshot was checked: read it from its start instead.
                (history, offset, snapshotRows) = (new MetricHistory(), 0, 0);
            }
            ReadNew(run, ref offset, history);
        }
        while (offset != before);
        return history;
    }

    public static List<MetricPoint> ReadAll(RunFiles run)
    {
        long offset = 0, before;
        var fence = new LeaseFence();
        var all = new List<MetricPoint>();
        do
        {
            before = offset;
            all.AddRange(ReadNew(run, ref offset, fence));
        }
        while (offset != before);
        return all;
    }

    /// <summary>
    /// Replaces the file, atomically (temp file and rename), by <paramref name="kept"/> and, when <paramref name="leaseToken"/>
    /// is given, an owner line of that token after them: from there on, a line of an older lease (a worker that wrote
    /// after losing the run) is stale even before the new owner has appended a point. The stale lines in the file are gone.
    /// </summary>
    public static void Rewrite(RunFiles run, IEnumerable<MetricPoint> kept, long? leaseToken)
    {
        var lines = kept.Select(p => p.ToJsonLine());
        if (leaseToken is { } token) lines = lines.Append($"{{\"{LeaseFence.Property}\":{token}}}");
        // A temp name of this process's own: no other writer's half-written file is ever renamed into place.
        var temp = $"{run.MetricsPath}.{Environment.ProcessId}.tmp";
        File.WriteAllLines(temp, lines);
        File.Move(temp, run.MetricsPath, overwrite: true);
        // The snapshot's identity check would refuse it anyway; gone, it cannot even be consulted.
        File.Delete(run.MetricsSnapshotPath);
    }
}

/// <summary>
/// train.log.jsonl: one <see cref="LogLine"/> per line. Read in file order through a <see cref="LeaseFence"/>: a line
/// written under an outdated lease after the new owner's first line is left out.
/// </summary>
public static class LogFile
{
    public static void Append(RunFiles run, LogLine line) => JsonLinesFile.Append(run.LogPath, line.ToJsonLine());

    /// <summary>The lines after <paramref name="offset"/>; <paramref name="fence"/> carries what the lines before it said about the lease.</summary>
    public static List<LogLine> ReadNew(RunFiles run, ref long offset, LeaseFence fence) => Current(JsonLinesFile.ReadNew(run.LogPath, ref offset), fence);

    public static List<LogLine> ReadAll(RunFiles run) => Current(JsonLinesFile.ReadAll(run.LogPath), new LeaseFence());

    /// <summary>The log lines among <paramref name="lines"/> (in file order) that are current: parsed, stale ones left out.</summary>
    public static List<LogLine> Current(IEnumerable<string> lines, LeaseFence fence) =>
        lines.Select(LogLine.ParseJsonLine).OfType<LogLine>().Where(line => fence.Admits(line.LeaseToken)).ToList();
}
