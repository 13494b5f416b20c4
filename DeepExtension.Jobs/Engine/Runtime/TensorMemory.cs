using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Runtime;

/// <summary>Raw access to the memory of CPU tensors, for bulk copies (no per-element loops).</summary>
internal static unsafe partial class TensorMemory
{
    // at::Tensor::data_ptr() (storage pointer plus storage offset), exported by TorchSharp's native library.
    [LibraryImport("LibTorchSharp")]
    private static partial IntPtr THSTensor_data(IntPtr tensor);

    /// <summary>Address of the first element of a contiguous CPU tensor.</summary>
    public static byte* Pointer(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU) throw new ArgumentException("tensor must be on the CPU", nameof(tensor));
        if (!tensor.is_contiguous()) throw new ArgumentException("tensor must be contiguous", nameof(tensor));
        if (tensor.numel() == 0) return null;
        var p = THSTensor_data(tensor.Handle);
        if (p == IntPtr.Zero) torch.CheckForErrors();
        return (byte*)p;
    }

    /// <summary>Number of bytes of a contiguous tensor's data.</summary>
    public static long ByteCount(Tensor tensor) => tensor.numel() * tensor.element_size();

    /// <summary>Copies <paramref name="count"/> bytes from <paramref name="source"/> into the contiguous CPU tensor.</summary>
    public static void CopyFrom(Tensor destination, byte* source, long count)
    {
        if (count != ByteCount(destination)) throw new ArgumentException($"byte count {count} does not match the tensor's {ByteCount(destination)}");
        if (count == 0) return;
        Buffer.MemoryCopy(source, Pointer(destination), count, count);
    }

    /// <summary>Writes the data of a tensor (any device, any layout) to a stream, in chunks.</summary>
    public static void WriteTo(Stream stream, Tensor tensor)
    {
        bool copy = tensor.device_type != DeviceType.CPU || !tensor.is_contiguous();
        var cpu = copy ? tensor.detach().to(CPU).contiguous() : tensor;
        try
        {
            byte* p = Pointer(cpu);
            long remaining = ByteCount(cpu);
            const int chunk = 1 << 26;
            while (remaining > 0)
            {
                int n = (int)Math.Min(remaining, chunk);
                stream.Write(new ReadOnlySpan<byte>(p, n));
                p += n;
                remaining -= n;
            }
        }
        finally
        {
            if (copy) cpu.Dispose();
        }
    }
}
