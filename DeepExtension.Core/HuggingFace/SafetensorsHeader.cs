using System.Buffers.Binary;
using System.Text.Json;

namespace DeepExtension.Core.HuggingFace;

/// <summary>One tensor's entry in a safetensors header. Offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteCount => End - Begin;
}

/// <summary>
/// The header of a safetensors file: little-endian u64 N, then N bytes of UTF-8 JSON
/// (<c>{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}</c>), then the data.
/// Reading it touches a few kilobytes of a multi-GB file: the model card counts parameters with it, the engine
/// maps tensors by it. Throws <see cref="InvalidDataException"/> for anything that is not such a file.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The safetensors library refuses larger headers (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public required IReadOnlyList<SafetensorsTensorInfo> Tensors { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// <summary>File offset of the data section (8 + header length).</summary>
    public required long DataOffset { get; init; }

    /// <summary>Bytes per element of the safetensors dtypes whose size is whole bytes (the sub-byte float formats are left out).</summary>
    public static IReadOnlyDictionary<string, int> DtypeSizes { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E5M2"] = 1, ["F8_E4M3"] = 1, ["F8_E8M0"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["F64"] = 8, ["I64"] = 8, ["U64"] = 8,
    };

    public static SafetensorsHeader Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, stream.Length, Path.GetFileName(path));
    }

    public static SafetensorsHeader Read(Stream stream, long fileLength, string name = "the file")
    {
        Span<byte> prefix = stackalloc byte[8];
        if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{name} is not a safetensors file (too short).");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n == 0 || n > MaxHeaderBytes || (long)n > fileLength - 8)
            throw new InvalidDataException($"{name} is not a safetensors file (header length {n} is invalid for a file of {fileLength} bytes).");
        var json = new byte[n];
        stream.ReadExactly(json);
        return Parse(json, 8 + (long)n, fileLength - 8 - (long)n, name);
    }

    /// <summary>The tensors of a file's header (names, dtypes, shapes): what a model card needs.</summary>
    public static IReadOnlyList<SafetensorsTensorInfo> ReadTensors(string path) => Read(path).Tensors;

    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataOffset, long dataLength, string name = "the file")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{name} has an unreadable safetensors header: {ex.Message}", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{name}: the safetensors header is not a JSON object.");
            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (var m in property.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                var v = property.Value;
                string dtype = v.GetProperty("dtype").GetString() ?? throw new InvalidDataException($"{property.Name}: no dtype");
                long[] shape = v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                long[] offsets = v.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw new InvalidDataException($"{property.Name}: data_offsets [{string.Join(",", offsets)}] out of the {dataLength}-byte data section");
                var info = new SafetensorsTensorInfo(property.Name, dtype, shape, offsets[0], offsets[1]);
                // Sizes are checked where the dtype's size is known; loading an unknown dtype fails where it is converted.
                if (shape.Any(d => d < 0) || (DtypeSizes.TryGetValue(dtype, out var size) && info.ElementCount * size != info.ByteCount))
                    throw new InvalidDataException($"{property.Name}: {info.ByteCount} bytes do not hold a {dtype} tensor of shape [{string.Join(",", shape)}]");
                tensors.Add(info);
            }
            return new SafetensorsHeader { Tensors = tensors, Metadata = metadata, DataOffset = dataOffset };
        }
    }
}
