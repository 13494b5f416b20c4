using System.Buffers.Binary;
using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Safetensors;

/// <summary>One tensor's entry in a safetensors header. Offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteCount => End - Begin;
}

/// <summary>
/// The header of a safetensors file: little-endian u64 N, then N bytes of UTF-8 JSON
/// (<c>{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}</c>), then the data.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The safetensors library refuses larger headers (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public required IReadOnlyList<SafetensorsTensorInfo> Tensors { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// <summary>File offset of the data section (8 + header length).</summary>
    public required long DataOffset { get; init; }

    public static SafetensorsHeader Read(Stream stream, long fileLength)
    {
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes || (long)n > fileLength - 8)
            throw new InvalidDataException($"safetensors header length {n} is invalid for a file of {fileLength} bytes");
        var json = new byte[n];
        stream.ReadExactly(json);
        return Parse(json, 8 + (long)n, fileLength - 8 - (long)n);
    }

    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataOffset, long dataLength)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("safetensors header is not a JSON object");
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
            if (shape.Any(d => d < 0) || info.ElementCount * SafetensorsDtype.SizeOf(dtype) != info.ByteCount)
                throw new InvalidDataException($"{property.Name}: {info.ByteCount} bytes do not hold a {dtype} tensor of shape [{string.Join(",", shape)}]");
            tensors.Add(info);
        }
        return new SafetensorsHeader { Tensors = tensors, Metadata = metadata, DataOffset = dataOffset };
    }
}
