using System.Text;

namespace DeepExtension.Core.Runs;

/// <summary>
/// Append-only JSON-lines files shared between a writing worker process and reading console processes.
/// Each append is one complete line in one write; readers only consume up to the last newline, so a line
/// being written is picked up by the next read, never half.
/// </summary>
public static class JsonLinesFile
{
    public static void Append(string path, string jsonLine)
    {
        var bytes = Encoding.UTF8.GetBytes(jsonLine + "\n");
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(bytes);
        stream.Flush(flushToDisk: false);
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
        if (!File.Exists(path)) return lines;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length < offset)
        {
            offset = 0; // The file was replaced: start over rather than read garbage.
        }
        var available = (int)Math.Min(stream.Length - offset, maxBytes);
        if (available <= 0) return lines;

        var buffer = new byte[available];
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(buffer);
        var lastNewline = Array.LastIndexOf(buffer, (byte)'\n');
        if (lastNewline < 0) return lines;

        var start = 0;
        for (var i = 0; i <= lastNewline; i++)
        {
            if (buffer[i] != (byte)'\n') continue;
            if (i > start && parse(buffer.AsSpan(start, i - start)) is { } parsed) lines.Add(parsed);
            start = i + 1;
        }
        offset += lastNewline + 1;
        return lines;
    }
}

/// <summary>metrics.jsonl: one <see cref="MetricPoint"/> per line.</summary>
public static class MetricsFile
{
    public static void Append(RunFiles run, MetricPoint point) => JsonLinesFile.Append(run.MetricsPath, point.ToJsonLine());

    public static List<MetricPoint> ReadNew(RunFiles run, ref long offset) =>
        JsonLinesFile.ReadNew(run.MetricsPath, ref offset, MetricPoint.ParseJsonLine);

    public static List<MetricPoint> ReadAll(RunFiles run)
    {
        long offset = 0, before;
        var all = new List<MetricPoint>();
        do
        {
            before = offset;
            all.AddRange(ReadNew(run, ref offset));
        }
        while (offset != before);
        return all;
    }
}

/// <summary>train.log.jsonl: one <see cref="LogLine"/> per line.</summary>
public static class LogFile
{
    public static void Append(RunFiles run, LogLine line) => JsonLinesFile.Append(run.LogPath, line.ToJsonLine());

    public static List<LogLine> ReadNew(RunFiles run, ref long offset) =>
        JsonLinesFile.ReadNew(run.LogPath, ref offset).Select(LogLine.ParseJsonLine).OfType<LogLine>().ToList();

    public static List<LogLine> ReadAll(RunFiles run) => JsonLinesFile.ReadAll(run.LogPath).Select(LogLine.ParseJsonLine).OfType<LogLine>().ToList();
}
