using System.Buffers.Binary;
using System.Text.Json;

namespace DeepExtension.Core.BaseModels;

/// <summary>
/// Reads only the JSON header of a safetensors file (8-byte little-endian length, then JSON), so
/// describing a multi-GB checkpoint touches a few kilobytes.
/// </summary>
public static class SafetensorsHeader
{
    /// <summary>Headers larger than this are not plausible and point at a corrupt or foreign file.</summary>
    private const long MaxHeaderBytes = 100 * 1024 * 1024;

    public sealed record TensorInfo(string Name, string Dtype, long[] Shape)
    {
        public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    }

    public static IReadOnlyList<TensorInfo> ReadTensors(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
        {
            throw new ModelFolderException($"{Path.GetFileName(path)} is not a safetensors file (too short).");
        }
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > stream.Length - 8)
        {
            throw new ModelFolderException($"{Path.GetFileName(path)} is not a safetensors file (bad header length).");
        }
        var header = new byte[headerLength];
        stream.ReadExactly(header);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException)
        {
            throw new ModelFolderException($"{Path.GetFileName(path)} has an unreadable safetensors header.");
        }

        using (document)
        {
            var tensors = new List<TensorInfo>();
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__") continue;
                var dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
                var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                tensors.Add(new TensorInfo(entry.Name, dtype, shape));
            }
            return tensors;
        }
    }
}
