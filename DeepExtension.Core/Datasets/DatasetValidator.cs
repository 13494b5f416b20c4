using System.Security.Cryptography;
using System.Text.Json;

namespace DeepExtension.Core.Datasets;

/// <summary>A problem found in a file; <see cref="Line"/> is 0 for one about the whole file.</summary>
public sealed record DatasetIssue(int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"line {Line}: {Message}" : Message;
}

/// <summary>What reading a whole file found: layout, rows, a preview, hash and every problem (up to a limit).</summary>
public sealed record DatasetInspection(
    string FileName,
    DatasetFileType? FileType,
    DatasetFormat? DetectedFormat,
    DatasetFormat? Format,
    long RowCount,
    long SizeBytes,
    string Sha256,
    IReadOnlyList<DatasetExample> Preview,
    IReadOnlyList<DatasetIssue> Errors,
    long MoreErrors,
    long FailedRows = 0)
{
    public bool IsValid => Errors.Count == 0 && Format is not null;

    /// <summary>Rows that passed every check (<see cref="RowCount"/> counts every row read, failed ones included).</summary>
    public long ValidRows => RowCount - FailedRows;

    /// <summary>Each error as "line N: ...", then "and K more errors" when the list was cut.</summary>
    public IReadOnlyList<string> ErrorMessages =>
        [.. Errors.Select(e => e.ToString()), .. MoreErrors > 0 ? [$"and {MoreErrors:N0} more error{(MoreErrors == 1 ? "" : "s")}"] : Array.Empty<string>()];
}

/// <summary>
/// Reads a dataset file once, start to end, as a stream: detects (or checks) the layout, counts rows, keeps a
/// preview, hashes the bytes and collects line-numbered errors. Memory stays bounded whatever the file's size.
/// </summary>
public static class DatasetValidator
{
    public const int MaxErrors = 50;
    public const int DefaultPreviewRows = 5;

    public static IReadOnlyList<string> SupportedExtensions { get; } = [".jsonl", ".ndjson", ".json", ".csv"];

    public static DatasetFileType? FileTypeOf(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".jsonl" or ".ndjson" => DatasetFileType.Jsonl,
        ".json" => DatasetFileType.Json,
        ".csv" => DatasetFileType.Csv,
        _ => null,
    };

    public static string ExtensionOf(DatasetFileType fileType) => fileType switch
    {
        DatasetFileType.Jsonl => "jsonl",
        DatasetFileType.Json => "json",
        _ => "csv",
    };

    /// <summary>Inspects <paramref name="content"/> as the file <paramref name="fileName"/> (its extension gives the file type).</summary>
    /// <param name="format">The layout the user confirmed; null detects it from the first recognisable record.</param>
    /// <param name="progress">Told the number of bytes read so far, every few megabytes.</param>
    public static Task<DatasetInspection> InspectAsync(Stream content, string fileName, DatasetFormat? format = null,
        int previewRows = DefaultPreviewRows, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        InspectAsync(content, fileName, format, previewRows, copyTo: null, progress, cancellationToken);

    /// <summary>As above, also writing every byte read to <paramref name="copyTo"/> (the service's temp file).</summary>
    internal static async Task<DatasetInspection> InspectAsync(Stream content, string fileName, DatasetFormat? format,
        int previewRows, Stream? copyTo, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        using var hashing = new HashingStream(content, copyTo, progress);
        var errors = new List<DatasetIssue>();
        long moreErrors = 0;
        void AddError(int line, string message)
        {
            if (errors.Count < MaxErrors) errors.Add(new DatasetIssue(line, message));
            else moreErrors++;
        }

        var fileType = FileTypeOf(fileName);
        var preview = new List<DatasetExample>();
        DatasetFormat? detected = null;
        var effective = format;
        long rows = 0;
        long objects = 0;
        long failedRows = 0;

        if (fileType is null)
        {
            AddError(0, $"{Path.GetFileName(fileName)}: use a .jsonl, .json or .csv file.");
        }
        else if (fileType == DatasetFileType.Csv && format is { } chosen && !DatasetFormats.SupportsCsv(chosen))
        {
            AddError(0, $"The {DatasetFormats.DisplayName(chosen)} layout needs nested lists: upload it as .jsonl or .json, not CSV.");
        }
        else
        {
            var recordErrors = new List<string>();
            var layout = new SourceLayout(fileType.Value);
            await foreach (var record in DatasetRecordSource.ReadAsync(hashing, fileType.Value, cancellationToken, layout))
            {
                var index = rows++;
                if (record.Error is not null)
                {
                    AddError(record.Line, record.Error);
                    failedRows++;
                    continue;
                }
                if (record.Value.ValueKind != JsonValueKind.Object)
                {
                    AddError(record.Line, $"expected a JSON object, found {DatasetFormats.KindName(record.Value.ValueKind)}");
                    failedRows++;
                    continue;
                }
                objects++;
                var own = DatasetFormats.Detect(record.Value);
                detected ??= own;
                if (effective is null)
                {
                    if (own is null)
                    {
                        AddError(record.Line, $"not a recognised layout (keys: {KeysOf(record.Value)})");
                        failedRows++;
                        continue;
                    }
                    effective = own;
                }

                recordErrors.Clear();
                var example = DatasetFormats.Normalize(record.Value, effective.Value, index, record.Line, recordErrors);
                if (example is null)
                {
                    if (own is { } other && other != effective)
                    {
                        AddError(record.Line, format is null
                            ? $"this row is in the {DatasetFormats.ShortName(other)} layout but the file is {DatasetFormats.ShortName(effective.Value)} (mixed layouts)"
                            : $"this row is in the {DatasetFormats.ShortName(other)} layout, not {DatasetFormats.ShortName(effective.Value)}");
                    }
                    else
                    {
                        foreach (var error in recordErrors) AddError(record.Line, error);
                    }
                    failedRows++;
                    continue;
                }
                if (preview.Count < previewRows) preview.Add(example);
            }
            fileType = layout.FileType;
            if (rows == 0) AddError(0, "The file holds no rows.");
            else if (effective is null && objects > 0) AddError(0, $"No row matches a known layout; {ExpectedLayouts}.");
        }

        await hashing.DrainAsync(cancellationToken);
        return new DatasetInspection(Path.GetFileName(fileName), fileType, detected, effective, rows, hashing.BytesRead,
            hashing.HashHex(), preview, errors, moreErrors, failedRows);
    }

    public const string ExpectedLayouts =
        "expected \"instruction\"/\"output\" (Alpaca), \"messages\" (chat), \"conversations\" (ShareGPT), " +
        "\"chosen\"/\"rejected\" (preference) or \"prompt\"/\"answer\" (prompt + answer)";

    private static string KeysOf(JsonElement record)
    {
        var keys = record.EnumerateObject().Select(p => p.Name).Take(8).ToList();
        return keys.Count == 0 ? "none" : string.Join(", ", keys);
    }

    /// <summary>Counts, hashes and optionally copies what passes through; read-only.</summary>
    private sealed class HashingStream(Stream inner, Stream? copyTo, IProgress<long>? progress) : Stream
    {
        private const long ProgressStep = 8 * 1024 * 1024;

        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _nextProgress = ProgressStep;

        public long BytesRead { get; private set; }

        private void Count(int read)
        {
            BytesRead += read;
            if (progress is not null && BytesRead >= _nextProgress)
            {
                _nextProgress = BytesRead + ProgressStep;
                progress.Report(BytesRead);
            }
        }

        public string HashHex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public async Task DrainAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[81920];
            while (await ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                _hash.AppendData(buffer.Span[..read]);
                Count(read);
                if (copyTo is not null) await copyTo.WriteAsync(buffer[..read], cancellationToken);
            }
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            if (read > 0)
            {
                _hash.AppendData(buffer, offset, read);
                Count(read);
                copyTo?.Write(buffer, offset, read);
            }
            return read;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>The deterministic percentage split: a row's side depends only on its index and the file's hash.</summary>
public static class DatasetSplit
{
    public static bool IsValidation(long index, int percent, string contentSha256)
    {
        if (percent <= 0) return false;
        var seed = Convert.ToUInt64(contentSha256[..16], 16);
        var z = seed + (ulong)index * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return z % 100 < (ulong)percent;
    }

    /// <summary>How many of a file's rows a percentage split really puts in validation (the hash decides, not the share).</summary>
    public static long CountValidation(long rows, int percent, string contentSha256)
    {
        if (percent <= 0 || contentSha256.Length < 16) return 0;
        long count = 0;
        for (long i = 0; i < rows; i++)
        {
            if (IsValidation(i, percent, contentSha256)) count++;
        }
        return count;
    }
}

/// <summary>Reads a stored (already validated) file as normalised training examples, streaming.</summary>
public static class DatasetReader
{
    public static async IAsyncEnumerable<DatasetExample> ReadAsync(Stream content, DatasetFileType fileType, DatasetFormat format,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long index = 0;
        var errors = new List<string>();
        await foreach (var record in DatasetRecordSource.ReadAsync(content, fileType, cancellationToken))
        {
            var i = index++;
            if (record.Error is not null) throw new InvalidDataException($"line {record.Line}: {record.Error}");
            errors.Clear();
            yield return DatasetFormats.Normalize(record.Value, format, i, record.Line, errors)
                ?? throw new InvalidDataException($"line {record.Line}: {string.Join("; ", errors)}");
        }
    }
}
