using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DeepExtension.Jobs.Engine.Runtime;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Safetensors;

/// <summary>
/// Writes safetensors files the way the Python library does: tensors ordered by dtype (larger alignment first)
/// then by name, data packed without gaps, compact JSON header padded with spaces to a multiple of 8 bytes,
/// <c>__metadata__</c> first and holding <c>"format": "pt"</c>. Given the same tensors, the bytes are identical to
/// <c>safetensors.torch.save_file(tensors, path, metadata={"format": "pt"})</c>.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (any device, dtype, layout; not modified) to <paramref name="path"/>,
    /// via a temporary file renamed into place.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var duplicate = list.GroupBy(t => t.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"tensor name '{duplicate.Key}' appears twice");

        var ordered = list
            .Select(t => (Name: t.Key, Tensor: t.Value, Dtype: SafetensorsDtype.NameOf(t.Value.dtype)))
            .OrderByDescending(t => SafetensorsDtype.Rank(t.Dtype))
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();

        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        meta.TryAdd("format", "pt");

        byte[] header = HeaderBytes(ordered.Select(t => (t.Name, t.Dtype, t.Tensor.shape, t.Tensor.numel() * t.Tensor.element_size())), meta);

        string full = Path.GetFullPath(path);
        string temp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                foreach (var t in ordered) TensorMemory.WriteTo(stream, t.Tensor);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Convenience overload for a name → tensor dictionary.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, tensors.AsEnumerable(), metadata);

    /// <summary>
    /// Writes a checkpoint into <paramref name="directory"/> as Hugging Face's <c>save_pretrained</c> does: one
    /// <c>{baseName}.safetensors</c> when everything fits in <paramref name="maxShardBytes"/>, else shards
    /// <c>{baseName}-00001-of-0000N.safetensors</c> filled in the given order plus <c>{baseName}.safetensors.index.json</c>.
    /// Returns the files written (index last).
    /// </summary>
    public static IReadOnlyList<string> SaveCheckpoint(string directory, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        long maxShardBytes = 5_000_000_000, string baseName = "model", IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(directory);
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long current = 0, total = 0;
        foreach (var t in tensors)
        {
            long bytes = t.Value.numel() * t.Value.element_size();
            if (current > 0 && current + bytes > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(t);
            current += bytes;
            total += bytes;
        }

        var written = new List<string>();
        if (shards.Count == 1)
        {
            string file = Path.Combine(directory, baseName + ".safetensors");
            Save(file, shards[0], metadata);
            written.Add(file);
            return written;
        }

        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string name = $"{baseName}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            Save(Path.Combine(directory, name), shards[i], metadata);
            foreach (var t in shards[i]) weightMap[t.Key] = name;
            written.Add(Path.Combine(directory, name));
        }
        string index = Path.Combine(directory, baseName + ".safetensors.index.json");
        var json = JsonSerializer.Serialize(new { metadata = new { total_size = total }, weight_map = weightMap },
            new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(index, json + "\n");
        written.Add(index);
        return written;
    }

    internal static byte[] HeaderBytes(IEnumerable<(string Name, string Dtype, long[] Shape, long Bytes)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, bytes) in tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int length = (int)buffer.Length;
        int padded = (length + 7) / 8 * 8;
        var bytesOut = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(bytesOut);
        bytesOut.AsSpan(length).Fill((byte)' ');
        return bytesOut;
    }
}
