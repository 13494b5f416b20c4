using System.IO.MemoryMappedFiles;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Jobs.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Safetensors;

/// <summary>
/// A safetensors file opened for reading. The file is memory-mapped: <see cref="Load"/> copies one tensor's bytes
/// straight from the mapping (page cache) into a new tensor, so a multi-GB shard is never read into a managed
/// buffer. Thread-safe for concurrent <see cref="Load"/> calls; dispose to unmap.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    readonly MemoryMappedFile? map;
    readonly MemoryMappedViewAccessor? view;
    readonly byte* basePointer;
    readonly Dictionary<string, SafetensorsTensorInfo> byName;
    bool disposed;

    public string Path { get; }
    public SafetensorsHeader Header { get; }
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;
    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors => Header.Tensors;
    public IEnumerable<string> Names => Header.Tensors.Select(t => t.Name);

    SafetensorsFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            Header = SafetensorsHeader.Read(stream, stream.Length, System.IO.Path.GetFileName(Path));
            byName = Header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
            if (stream.Length > Header.DataOffset)
            {
                map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
                view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* p = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                basePointer = p + view.PointerOffset;
            }
            else
            {
                stream.Dispose();
            }
        }
        catch
        {
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    public static SafetensorsFile Open(string path) => new(path);

    public bool Contains(string name) => byName.ContainsKey(name);

    public SafetensorsTensorInfo Info(string name) =>
        byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"tensor '{name}' is not in {Path}");

    /// <summary>
    /// A new tensor holding <paramref name="name"/>, converted to <paramref name="dtype"/> and moved to
    /// <paramref name="device"/> when given (one intermediate copy at most, disposed here).
    /// </summary>
    public Tensor Load(string name, ScalarType? dtype = null, Device? device = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        TorchRuntime.EnsureInitialized();
        var info = Info(name);
        var type = SafetensorsDtype.ToScalarType(info.Dtype);
        var tensor = torch.empty(info.Shape, type, CPU);
        if (info.ByteCount > 0) TensorMemory.CopyFrom(tensor, basePointer + Header.DataOffset + info.Begin, info.ByteCount);
        return Convert(tensor, dtype, device);
    }

    internal static Tensor Convert(Tensor tensor, ScalarType? dtype, Device? device)
    {
        bool changeType = dtype is { } t && t != tensor.dtype;
        bool changeDevice = device is not null && device.type != DeviceType.CPU;
        if (!changeType && !changeDevice) return tensor;
        using (tensor)
            return changeDevice ? tensor.to(dtype ?? tensor.dtype, device!) : tensor.to(dtype!.Value);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
        }
        map?.Dispose();
    }
}
