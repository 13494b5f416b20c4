using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Core.Runs;

/// <summary>
/// A cache of a run's parsed metrics.jsonl (<see cref="RunFiles.MetricsSnapshotPath"/>): the rows of the file's first
/// bytes, so a 100k-step history opens in milliseconds instead of seconds of JSON parsing. metrics.jsonl stays the source
/// of truth: a snapshot holds the offset it covers, that prefix's identity (the file's length then, hashes of its first
/// and last few KiB; a resume rewrites the file and so invalidates it) and the lease fence's state there; a missing,
/// stale, corrupt or unknown-version snapshot is ignored and the JSON parsed as before. The history's columns are stored
/// as blocks and read back in bulk (<see cref="MetricHistory.FromColumns"/>), which folds each row into the summary as a
/// parsed line is folded, so the summary and everything derived is computed one way.
/// </summary>
/// <remarks>
/// Layout (little-endian): "DXMS", version, covered offset, file length at writing, SHA-256 of the covered prefix's first
/// and last <see cref="IdentityBytes"/>, fence token, row count n, the n steps, epochs, elapsed seconds and planned steps
/// (-1: not recorded), the metric count, per metric its UTF-8 name (length first), how many rows logged it, those rows
/// and their values; then a SHA-256 of everything before it.
/// </remarks>
public static class MetricSnapshot
{
    /// <summary>Rows parsed from JSON beyond what the snapshot holds before one is (re)written: small histories parse fast anyway.</summary>
    public const int MinNewRows = 5000;

    /// <summary>2: columns stored as blocks (1 held rows of key/value pairs; such a snapshot is ignored and written anew).</summary>
    private const int Version = 2;
    private const int IdentityBytes = 4096;
    private const int HashBytes = 32;
    private static ReadOnlySpan<byte> Magic => "DXMS"u8;

    /// <summary>
    /// The one rule of when a snapshot is written: when at least <see cref="MinNewRows"/> rows of <paramref name="history"/>
    /// (read up to byte <paramref name="offset"/>) were parsed beyond the <paramref name="rowsInSnapshot"/> the valid
    /// snapshot holds (0 when there is none). Null when not; else its rows, taken now (under the history owner's lock),
    /// to be saved after.
    /// </summary>
    internal static Capture? CaptureIfStale(MetricHistory history, long offset, int rowsInSnapshot)
    {
        if (history.Count - rowsInSnapshot < MinNewRows || offset <= 0) return null;
        return new Capture(offset, history.Count, Encode(history));
    }

    /// <summary>A history's rows encoded, waiting to be saved beside the file they were read from.</summary>
    internal sealed record Capture(long Offset, int Rows, byte[] Body)
    {
        /// <summary>Writes the snapshot (temp file and rename); false, logged at debug level, when it cannot (a read-only data root, the file rewritten meanwhile).</summary>
        public bool Save(RunFiles run, ILogger? logger)
        {
            var temp = $"{run.MetricsSnapshotPath}.{Environment.ProcessId}.tmp";
            try
            {
                var header = new MemoryStream();
                using (var writer = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
                {
                    writer.Write(Magic);
                    writer.Write(Version);
                    writer.Write(Offset);
                    if (Identity(run, Offset) is not { } identity) return false;
                    writer.Write(identity.Length);
                    writer.Write(identity.Head);
                    writer.Write(identity.Tail);
                }
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                hash.AppendData(header.GetBuffer(), 0, (int)header.Length);
                hash.AppendData(Body);
                using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    file.Write(header.GetBuffer(), 0, (int)header.Length);
                    file.Write(Body);
                    file.Write(hash.GetHashAndReset());
                }
                File.Move(temp, run.MetricsSnapshotPath, overwrite: true);
                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger?.LogDebug(ex, "No metrics snapshot written for run folder {RunDirectory}", run.Directory);
                try
                {
                    File.Delete(temp);
                }
                catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
                {
                }
                return false;
            }
        }
    }

    /// <summary>
    /// The history the run's snapshot holds and the offset of metrics.jsonl it covers (read the file on from there);
    /// null when there is no snapshot, or it does not match the file, or cannot be read.
    /// </summary>
    internal static (MetricHistory History, long Offset)? TryRead(RunFiles run)
    {
        try
        {
            if (!File.Exists(run.MetricsSnapshotPath)) return null;
            var bytes = File.ReadAllBytes(run.MetricsSnapshotPath);
            if (bytes.Length < HashBytes + Magic.Length
                || !SHA256.HashData(bytes.AsSpan(0, bytes.Length - HashBytes)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes))
                || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            {
                return null;
            }
            // The columns are stored as this machine holds them in memory: a big-endian machine parses the JSON instead.
            if (!BitConverter.IsLittleEndian) return null;
            using var reader = new BinaryReader(new MemoryStream(bytes, Magic.Length, bytes.Length - HashBytes - Magic.Length), Encoding.UTF8);
            if (reader.ReadInt32() != Version) return null;
            var offset = reader.ReadInt64();
            var length = reader.ReadInt64();
            var head = reader.ReadBytes(HashBytes);
            var tail = reader.ReadBytes(HashBytes);
            // The file as it is now must start with the very prefix the rows were read from.
            if (offset <= 0 || Identity(run, offset) is not { } now
                || now.Length < length || !head.AsSpan().SequenceEqual(now.Head) || !tail.AsSpan().SequenceEqual(now.Tail))
            {
                return null;
            }
            var body = (int)reader.BaseStream.Position + Magic.Length;
            return (Decode(bytes.AsSpan(body, bytes.Length - HashBytes - body)), offset);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>metrics.jsonl's length now and hashes of the first and last <see cref="IdentityBytes"/> before <paramref name="offset"/>; null when the file is shorter.</summary>
    private static (long Length, byte[] Head, byte[] Tail)? Identity(RunFiles run, long offset)
    {
        if (!File.Exists(run.MetricsPath)) return null;
        using var stream = new FileStream(run.MetricsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = stream.Length;
        if (length < offset) return null;
        var buffer = new byte[IdentityBytes];
        var headLength = (int)Math.Min(IdentityBytes, offset);
        stream.ReadExactly(buffer, 0, headLength);
        var head = SHA256.HashData(buffer.AsSpan(0, headLength));
        stream.Seek(offset - headLength, SeekOrigin.Begin);
        stream.ReadExactly(buffer, 0, headLength);
        var tail = SHA256.HashData(buffer.AsSpan(0, headLength));
        return (length, head, tail);
    }

    /// <summary>The fence token and the history's columns as they are stored, each written as one block.</summary>
    private static byte[] Encode(MetricHistory history)
    {
        var (steps, epochs, elapsed, totals) = history.RowColumns;
        var columns = history.Columns.ToList();
        var body = new MemoryStream(16 + history.Count * 32 + columns.Sum(c => 64 + c.Rows.Count * 12));
        using (var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(history.FenceToken);
            writer.Write(history.Count);
            writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(steps)));
            writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(epochs)));
            writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(elapsed)));
            writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(totals)));
            writer.Write(columns.Count);
            foreach (var (key, rows, values) in columns)
            {
                var name = Encoding.UTF8.GetBytes(key);
                writer.Write(name.Length);
                writer.Write(name);
                writer.Write(rows.Count);
                writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(rows)));
                writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(values)));
            }
        }
        return body.ToArray();
    }

    private static MetricHistory Decode(ReadOnlySpan<byte> body)
    {
        var fence = new Work.LeaseFence();
        fence.Admits(Take<long>(ref body, 1)[0]);
        var count = Take<int>(ref body, 1)[0];
        var steps = Take<long>(ref body, count).ToArray();
        var epochs = Take<double>(ref body, count).ToArray();
        var elapsed = Take<double>(ref body, count).ToArray();
        var totals = Take<long>(ref body, count).ToArray();
        var columns = new (string Key, int[] Rows, double[] Values)[Take<int>(ref body, 1)[0]];
        for (var c = 0; c < columns.Length; c++)
        {
            var key = Encoding.UTF8.GetString(Take<byte>(ref body, Take<int>(ref body, 1)[0]));
            var rows = Take<int>(ref body, Take<int>(ref body, 1)[0]).ToArray();
            columns[c] = (key, rows, Take<double>(ref body, rows.Length).ToArray());
        }
        if (!body.IsEmpty) throw new InvalidDataException("trailing bytes");
        return MetricHistory.FromColumns(fence, steps, epochs, elapsed, totals, columns);
    }

    /// <summary>The next <paramref name="count"/> values of <paramref name="body"/> (little-endian, as written), which moves past them.</summary>
    private static ReadOnlySpan<T> Take<T>(ref ReadOnlySpan<byte> body, int count) where T : unmanaged
    {
        var bytes = (long)count * Unsafe.SizeOf<T>();
        if (count < 0 || bytes > body.Length) throw new InvalidDataException("the snapshot ends early");
        var values = MemoryMarshal.Cast<byte, T>(body[..(int)bytes]);
        body = body[(int)bytes..];
        return values;
    }
}
