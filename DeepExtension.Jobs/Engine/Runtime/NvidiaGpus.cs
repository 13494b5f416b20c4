using System.Runtime.InteropServices;
using System.Text;

namespace DeepExtension.Jobs.Engine.Runtime;

/// <summary>One GPU as the CUDA driver numbers it (the same index as torch's cuda:N).</summary>
public sealed record GpuInfo(int Index, string Name, long TotalBytes, long? FreeBytes, string ComputeCapability, string PciBusId);

/// <summary>
/// GPU facts straight from the NVIDIA driver, since TorchSharp 0.107 has no device properties or memory statistics:
/// the CUDA driver API (libcuda.so.1: the devices in torch's order, honouring CUDA_VISIBLE_DEVICES) and NVML
/// (libnvidia-ml.so.1: free and used memory, matched by PCI bus id). Both come with the driver, not with CUDA or
/// PyTorch, so they answer the same whichever libtorch is loaded. Without a driver every method answers "none".
/// </summary>
public static unsafe class NvidiaGpus
{
    const int CudaSuccess = 0;
    const int AttributeComputeCapabilityMajor = 75, AttributeComputeCapabilityMinor = 76;

    [StructLayout(LayoutKind.Sequential)]
    struct NvmlMemory
    {
        public ulong Total, Free, Used;
    }

    static readonly Lazy<Driver?> Cuda = new(LoadDriver);
    static readonly Lazy<Nvml?> Management = new(LoadNvml);

    sealed class Driver
    {
        public required int InitResult;
        public required delegate* unmanaged<int*, int> GetCount;
        public required delegate* unmanaged<int*, int, int> Get;
        public required delegate* unmanaged<byte*, int, int, int> GetName;
        public required delegate* unmanaged<nuint*, int, int> TotalMem;
        public required delegate* unmanaged<int*, int, int, int> GetAttribute;
        public required delegate* unmanaged<byte*, int, int, int> GetPciBusId;
        public required delegate* unmanaged<int, byte**, int> GetErrorName;
        public required delegate* unmanaged<int*, int> DriverVersion;
    }

    sealed class Nvml
    {
        public required delegate* unmanaged<byte*, nint*, int> HandleByPciBusId;
        public required delegate* unmanaged<nint, NvmlMemory*, int> MemoryInfo;
    }

    /// <summary>Whether the NVIDIA driver library (libcuda.so.1) is present on this machine.</summary>
    public static bool DriverPresent => Cuda.Value is not null;

    /// <summary>The driver's cuInit result: null without a driver, "CUDA_SUCCESS" or the error's name otherwise.</summary>
    public static string? DriverStatus => Cuda.Value is { } d ? ErrorName(d, d.InitResult) : null;

    /// <summary>The CUDA version the driver supports, e.g. "13.0"; null without a driver.</summary>
    public static string? DriverCudaVersion
    {
        get
        {
            if (Cuda.Value is not { } d) return null;
            int version;
            return d.DriverVersion(&version) == CudaSuccess ? $"{version / 1000}.{version % 1000 / 10}" : null;
        }
    }

    /// <summary>Every GPU the CUDA driver sees; empty without a driver or when it finds none.</summary>
    public static IReadOnlyList<GpuInfo> List()
    {
        if (Cuda.Value is not { InitResult: CudaSuccess } d) return [];
        int count;
        if (d.GetCount(&count) != CudaSuccess) return [];
        var gpus = new List<GpuInfo>(count);
        var name = stackalloc byte[256];
        var bus = stackalloc byte[64];
        for (var i = 0; i < count; i++)
        {
            int device;
            if (d.Get(&device, i) != CudaSuccess) continue;
            nuint total;
            int major, minor;
            if (d.GetName(name, 256, device) != CudaSuccess || d.TotalMem(&total, device) != CudaSuccess
                || d.GetAttribute(&major, AttributeComputeCapabilityMajor, device) != CudaSuccess
                || d.GetAttribute(&minor, AttributeComputeCapabilityMinor, device) != CudaSuccess
                || d.GetPciBusId(bus, 64, device) != CudaSuccess) continue;
            var pciBusId = Marshal.PtrToStringUTF8((nint)bus) ?? "";
            gpus.Add(new GpuInfo(i, Marshal.PtrToStringUTF8((nint)name) ?? $"GPU {i}", (long)total,
                Memory(pciBusId) is { } memory ? (long)memory.Free : null, $"{major}.{minor}", pciBusId));
        }
        return gpus;
    }

    /// <summary>Bytes in use on CUDA device <paramref name="index"/> (all processes, as nvidia-smi shows); null when NVML cannot tell.</summary>
    public static long? UsedBytes(int index)
    {
        if (Cuda.Value is not { InitResult: CudaSuccess } d) return null;
        int device;
        var bus = stackalloc byte[64];
        if (d.Get(&device, index) != CudaSuccess || d.GetPciBusId(bus, 64, device) != CudaSuccess) return null;
        return Memory(Marshal.PtrToStringUTF8((nint)bus) ?? "") is { } memory ? (long)memory.Used : null;
    }

    static NvmlMemory? Memory(string pciBusId)
    {
        if (Management.Value is not { } nvml || pciBusId.Length == 0) return null;
        var id = Encoding.ASCII.GetBytes(pciBusId + "\0");
        nint handle;
        NvmlMemory memory;
        fixed (byte* p = id)
        {
            if (nvml.HandleByPciBusId(p, &handle) != 0) return null;
        }
        return nvml.MemoryInfo(handle, &memory) == 0 ? memory : null;
    }

    static string ErrorName(Driver d, int result)
    {
        byte* name = null;
        return d.GetErrorName(result, &name) == CudaSuccess && name != null ? Marshal.PtrToStringUTF8((nint)name) ?? $"CUresult {result}" : $"CUresult {result}";
    }

    static Driver? LoadDriver()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libcuda.so.1", out var lib)) return null;
        try
        {
            var init = (delegate* unmanaged<uint, int>)NativeLibrary.GetExport(lib, "cuInit");
            return new Driver
            {
                InitResult = init(0),
                GetCount = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "cuDeviceGetCount"),
                Get = (delegate* unmanaged<int*, int, int>)NativeLibrary.GetExport(lib, "cuDeviceGet"),
                GetName = (delegate* unmanaged<byte*, int, int, int>)NativeLibrary.GetExport(lib, "cuDeviceGetName"),
                TotalMem = (delegate* unmanaged<nuint*, int, int>)NativeLibrary.GetExport(lib, "cuDeviceTotalMem_v2"),
                GetAttribute = (delegate* unmanaged<int*, int, int, int>)NativeLibrary.GetExport(lib, "cuDeviceGetAttribute"),
                GetPciBusId = (delegate* unmanaged<byte*, int, int, int>)NativeLibrary.GetExport(lib, "cuDeviceGetPCIBusId"),
                GetErrorName = (delegate* unmanaged<int, byte**, int>)NativeLibrary.GetExport(lib, "cuGetErrorName"),
                DriverVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "cuDriverGetVersion"),
            };
        }
        catch (EntryPointNotFoundException)
        {
            return null; // A driver too old for the API used here.
        }
    }

    static Nvml? LoadNvml()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libnvidia-ml.so.1", out var lib)) return null;
        try
        {
            var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "nvmlInit_v2");
            if (init() != 0) return null;
            return new Nvml
            {
                HandleByPciBusId = (delegate* unmanaged<byte*, nint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetHandleByPciBusId_v2"),
                MemoryInfo = (delegate* unmanaged<nint, NvmlMemory*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetMemoryInfo"),
            };
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }
}
