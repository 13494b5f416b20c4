using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace DeepExtension.Core.Datasets;

/// <summary>
/// One record of a dataset file as it was read: the JSON value (valid until the next record is read) or why it
/// could not be read. <see cref="Line"/> is the physical line the record starts on (1-based).
/// </summary>
internal readonly record struct SourceRecord(int Line, JsonElement Value, string? Error);

/// <summary>What a file's content turned out to be.</summary>
internal sealed class SourceLayout(DatasetFileType fileType)
{
    public DatasetFileType FileType { get; set; } = fileType;
}

/// <summary>
/// Streams the records of a dataset file without loading the file: JSON Lines line by line, a JSON array one
/// element at a time, CSV one RFC 4180 record at a time. Memory is bounded by the largest record.
/// </summary>
internal static class DatasetRecordSource
{
    public const int MaxRecordBytes = 16 * 1024 * 1024;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <param name="layout">When given, set to what the content turned out to be: a .json file may hold JSON Lines
    /// (pandas' and Hugging Face datasets' <c>to_json</c> write them), which is then read line by line.</param>
    public static IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, DatasetFileType fileType, CancellationToken cancellationToken,
        SourceLayout? layout = null) =>
        fileType switch
        {
            DatasetFileType.Jsonl => ReadJsonLinesAsync(new ByteCursor(stream), 0, hintOnFirstError: false, cancellationToken),
            DatasetFileType.Json => ReadJsonArrayAsync(stream, layout, cancellationToken),
            DatasetFileType.Csv => ReadCsvAsync(stream, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(fileType)),
        };

    private static async IAsyncEnumerable<SourceRecord> ReadJsonLinesAsync(ByteCursor reader, int lineNumber, bool hintOnFirstError,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var line = new ArrayBufferWriter<byte>();
        var first = true;
        while (true)
        {
            line.ResetWrittenCount();
            var tooLong = false;
            var sawAnything = false;
            var ended = false;
            while (!ended)
            {
                if (reader.Available.IsEmpty && !await reader.FillAsync(cancellationToken)) break;
                sawAnything = true;
                var span = reader.Available;
                var newline = span.IndexOf((byte)'\n');
                var part = newline >= 0 ? span[..newline] : span;
                if (!tooLong)
                {
                    if (line.WrittenCount + part.Length > MaxRecordBytes) tooLong = true;
                    else line.Write(part);
                }
                reader.Advance(newline >= 0 ? newline + 1 : part.Length);
                ended = newline >= 0;
            }
            if (!sawAnything) yield break;
            lineNumber++;

            if (tooLong)
            {
                yield return new SourceRecord(lineNumber, default, $"the line is longer than {MaxRecordBytes / (1024 * 1024)} MB");
                continue;
            }
            var bytes = line.WrittenSpan;
            if (lineNumber == 1 && bytes.StartsWith(Utf8Bom)) bytes = bytes[Utf8Bom.Length..];
            if (IsBlank(bytes)) continue;

            JsonDocument? document = null;
            string? error = null;
            try
            {
                document = JsonDocument.Parse(line.WrittenMemory[(line.WrittenSpan.Length - bytes.Length)..], DocumentOptions);
            }
            catch (JsonException ex)
            {
                error = InvalidJson(ex, includeLine: false);
            }
            if (first && hintOnFirstError && error is not null)
            {
                yield return new SourceRecord(lineNumber, default,
                    $"{error}; a .json file must hold one array of records ([{{...}}, {{...}}]) or one record per line");
                yield break;
            }
            first = false;
            using (document)
            {
                yield return new SourceRecord(lineNumber, document?.RootElement ?? default, error);
            }
        }
    }

    private static async IAsyncEnumerable<SourceRecord> ReadJsonArrayAsync(Stream stream, SourceLayout? layout,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cursor = new ByteCursor(stream);
        var element = new ArrayBufferWriter<byte>();
        var line = 1;

        // Skips whitespace (and a BOM at the very start); returns the next byte without consuming it, or -1 at the end.
        async ValueTask<int> PeekNonWhitespaceAsync()
        {
            while (true)
            {
                if (cursor.Available.IsEmpty && !await cursor.FillAsync(cancellationToken)) return -1;
                var b = cursor.Available[0];
                if (b == (byte)'\n') line++;
                else if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or 0xEF or 0xBB or 0xBF)) return b;
                cursor.Advance(1);
            }
        }

        var first = await PeekNonWhitespaceAsync();
        if (first == -1)
        {
            yield break;
        }
        if (first == '{')
        {
            // JSON Lines in a .json file.
            layout?.FileType = DatasetFileType.Jsonl;
            await foreach (var record in ReadJsonLinesAsync(cursor, line - 1, hintOnFirstError: true, cancellationToken))
            {
                yield return record;
            }
            yield break;
        }
        if (first != '[')
        {
            yield return new SourceRecord(line, default,
                "a .json file must hold one array of records ([{...}, {...}]) or one record per line");
            yield break;
        }
        cursor.Advance(1);

        var expectElement = true;
        var any = false;
        while (true)
        {
            var next = await PeekNonWhitespaceAsync();
            if (next == -1)
            {
                yield return new SourceRecord(line, default, "invalid JSON: the array is not closed with ']'");
                yield break;
            }
            if (next == ']')
            {
                if (any && expectElement)
                {
                    yield return new SourceRecord(line, default, "invalid JSON: a ',' is followed by ']' (trailing comma)");
                    yield break;
                }
                cursor.Advance(1);
                break;
            }
            if (!expectElement)
            {
                if (next != ',')
                {
                    yield return new SourceRecord(line, default, $"invalid JSON: expected ',' or ']' but found '{(char)next}'");
                    yield break;
                }
                cursor.Advance(1);
                expectElement = true;
                continue;
            }

            // One element: capture its bytes, tracking strings and nesting, counting newlines.
            var startLine = line;
            element.ResetWrittenCount();
            var tooLong = false;
            var depth = 0;
            var inString = false;
            var escaped = false;
            var scalar = next is not ('{' or '[' or '"');
            var done = false;
            while (!done)
            {
                if (cursor.Available.IsEmpty && !await cursor.FillAsync(cancellationToken)) break;
                var span = cursor.Available;
                var consumed = 0;
                while (consumed < span.Length && !done)
                {
                    var b = span[consumed];
                    if (scalar && !inString && b is (byte)',' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                    {
                        done = true;
                        break;
                    }
                    consumed++;
                    if (b == (byte)'\n') line++;
                    if (inString)
                    {
                        if (escaped) escaped = false;
                        else if (b == (byte)'\\') escaped = true;
                        else if (b == (byte)'"')
                        {
                            inString = false;
                            if (depth == 0 && !scalar) done = true;
                        }
                    }
                    else if (b == (byte)'"') inString = true;
                    else if (b is (byte)'{' or (byte)'[') depth++;
                    else if (b is (byte)'}' or (byte)']')
                    {
                        depth--;
                        if (depth <= 0) done = true;
                    }
                }
                if (!tooLong)
                {
                    if (element.WrittenCount + consumed > MaxRecordBytes) tooLong = true;
                    else element.Write(span[..consumed]);
                }
                cursor.Advance(consumed);
            }
            if (!done && !scalar)
            {
                yield return new SourceRecord(startLine, default, "invalid JSON: this record is not closed before the end of the file");
                yield break;
            }
            any = true;
            expectElement = false;
            if (tooLong)
            {
                yield return new SourceRecord(startLine, default, $"the record is longer than {MaxRecordBytes / (1024 * 1024)} MB");
                continue;
            }

            JsonDocument? document = null;
            string? error = null;
            try
            {
                document = JsonDocument.Parse(element.WrittenMemory, DocumentOptions);
            }
            catch (JsonException ex)
            {
                var errorLine = startLine + (int)(ex.LineNumber ?? 0);
                error = InvalidJson(ex, includeLine: false);
                startLine = errorLine;
            }
            using (document)
            {
                yield return new SourceRecord(startLine, document?.RootElement ?? default, error);
            }
        }

        if (await PeekNonWhitespaceAsync() != -1)
        {
            yield return new SourceRecord(line, default, "invalid JSON: unexpected content after the closing ']'");
        }
    }

    private static async IAsyncEnumerable<SourceRecord> ReadCsvAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024, leaveOpen: true);
        var buffer = new char[32 * 1024];
        var fields = new List<string>();
        var field = new StringBuilder();
        var recordChars = 0;
        var inQuotes = false;
        var quotePending = false; // a '"' seen inside quotes: either an escaped quote or the closing one
        var line = 1;
        var recordLine = 1;
        string[]? header = null;
        var headerLine = 0;
        var output = new ArrayBufferWriter<byte>();

        // Returns a record (or an error) when one ended; null for a blank line or the header.
        SourceRecord? EndRecord(out JsonDocument? document)
        {
            document = null;
            fields.Add(field.ToString());
            field.Clear();
            var values = fields.ToArray();
            fields.Clear();
            var start = recordLine;
            var tooLong = recordChars > MaxRecordBytes;
            recordChars = 0;
            if (values.Length == 1 && values[0].Length == 0) return null;
            if (tooLong) return new SourceRecord(start, default, $"the record is longer than {MaxRecordBytes / (1024 * 1024)} MB");
            if (header is null)
            {
                // Column names are matched like JSON keys; CSV headers often come capitalised ("Prompt", "Answer").
                header = values.Select(v => v.Trim().ToLowerInvariant()).ToArray();
                headerLine = start;
                var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                if (header.Any(h => h.Length == 0)) return new SourceRecord(start, default, "the CSV header has an empty column name");
                if (duplicate is not null) return new SourceRecord(start, default, $"the CSV header names the column \"{duplicate.Key}\" twice");
                return null;
            }
            if (values.Length != header.Length)
            {
                return new SourceRecord(start, default, $"{values.Length} fields, but the header (line {headerLine}) has {header.Length} columns");
            }
            output.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(output))
            {
                writer.WriteStartObject();
                for (var i = 0; i < header.Length; i++) writer.WriteString(header[i], values[i]);
                writer.WriteEndObject();
            }
            document = JsonDocument.Parse(output.WrittenMemory);
            return new SourceRecord(start, document.RootElement, null);
        }

        int read;
        while ((read = await reader.ReadAsync(buffer.AsMemory(), cancellationToken)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (quotePending)
                {
                    quotePending = false;
                    if (c == '"')
                    {
                        field.Append('"');
                        recordChars++;
                        continue;
                    }
                    inQuotes = false;
                }
                if (inQuotes)
                {
                    if (c == '"')
                    {
                        quotePending = true;
                    }
                    else if (c != '\r')
                    {
                        if (c == '\n') line++;
                        if (recordChars++ < MaxRecordBytes) field.Append(c);
                    }
                    continue;
                }
                switch (c)
                {
                    case '"' when field.Length == 0:
                        inQuotes = true;
                        break;
                    case ',':
                        fields.Add(field.ToString());
                        field.Clear();
                        break;
                    case '\r':
                        break;
                    case '\n':
                        line++;
                        var record = EndRecord(out var document);
                        recordLine = line;
                        if (record is { } r)
                        {
                            using (document)
                            {
                                yield return r;
                            }
                        }
                        break;
                    default:
                        if (recordChars++ < MaxRecordBytes) field.Append(c);
                        break;
                }
            }
        }
        if (inQuotes && !quotePending)
        {
            yield return new SourceRecord(recordLine, default, "a quoted field is not closed before the end of the file");
            yield break;
        }
        if (field.Length > 0 || fields.Count > 0)
        {
            var record = EndRecord(out var document);
            if (record is { } r)
            {
                using (document)
                {
                    yield return r;
                }
            }
        }
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static bool IsBlank(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
        }
        return true;
    }

    /// <summary>"invalid JSON: ..." without System.Text.Json's "LineNumber: 0 | BytePositionInLine: 12." tail.</summary>
    internal static string InvalidJson(JsonException ex, bool includeLine)
    {
        var message = ex.Message;
        var tail = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (tail >= 0) message = message[..tail];
        message = message.Trim().TrimEnd('.');
        var column = ex.BytePositionInLine is { } position ? $" (column {position + 1})" : "";
        return includeLine && ex.LineNumber is { } line
            ? $"invalid JSON at line {line + 1}{column}: {message}"
            : $"invalid JSON{column}: {message}";
    }

    /// <summary>A read buffer over a stream that callers consume span by span.</summary>
    private sealed class ByteCursor(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public ReadOnlySpan<byte> Available => _buffer.AsSpan(_start, _end - _start);

        public void Advance(int count) => _start += count;

        public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            return _end > 0;
        }
    }
}
