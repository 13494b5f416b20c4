using DeepExtension.Core.HuggingFace;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Safetensors;

/// <summary>The safetensors dtype names and their TorchSharp scalar types.</summary>
public static class SafetensorsDtype
{
    // Order of the safetensors library's Dtype enum (alignment order): the writer puts larger ones first.
    static readonly (string Name, ScalarType Type)[] Known =
    [
        ("BOOL", ScalarType.Bool),
        ("U8", ScalarType.Byte),
        ("I8", ScalarType.Int8),
        ("I16", ScalarType.Int16),
        ("F16", ScalarType.Float16),
        ("BF16", ScalarType.BFloat16),
        ("I32", ScalarType.Int32),
        ("F32", ScalarType.Float32),
        ("F64", ScalarType.Float64),
        ("I64", ScalarType.Int64),
    ];

    public static ScalarType ToScalarType(string name)
    {
        foreach (var k in Known) if (k.Name == name) return k.Type;
        throw new NotSupportedException($"safetensors dtype '{name}' is not supported");
    }

    public static string NameOf(ScalarType type)
    {
        foreach (var k in Known) if (k.Type == type) return k.Name;
        throw new NotSupportedException($"tensor dtype {type} cannot be stored in safetensors by this writer");
    }

    /// <summary>Bytes per element (the header reader's table, shared with the model card).</summary>
    public static int SizeOf(string name) =>
        SafetensorsHeader.DtypeSizes.TryGetValue(name, out var size) ? size : throw new NotSupportedException($"safetensors dtype '{name}' is not supported");

    /// <summary>Position in the safetensors library's dtype order (the writer sorts descending).</summary>
    internal static int Rank(string name)
    {
        for (int i = 0; i < Known.Length; i++) if (Known[i].Name == name) return i;
        throw new NotSupportedException($"safetensors dtype '{name}' is not supported");
    }
}
