using System.Runtime.InteropServices;
using TorchSharp;

namespace DeepExtension.Jobs.Engine.Runtime;

/// <summary>
/// The one place that starts TorchSharp's native backend. Call <see cref="EnsureInitialized"/> before the
/// first use of <c>torch</c> (the engine's entry points do): it is cheap after the first call, thread-safe,
/// and turns the native loader's cryptic failures into messages that say what to do.
/// </summary>
/// <remarks>
/// Exactly one libtorch is loaded, chosen by <see cref="LibTorchLocator"/>: the folder in
/// DeepExtension:Training:LibTorchDirectory, else the PyTorch that python3 imports, else the bundled CPU libtorch
/// (output folder libtorch-cpu/lib, kept away from libLibTorchSharp.so by build/LibTorchCpuNatives.targets so
/// TorchSharp cannot map it by itself). Its libraries are loaded by full path before TorchSharp starts; when
/// TorchSharp then loads libLibTorchSharp.so, the dynamic loader binds its libtorch.so/libc10.so dependencies to
/// those already loaded (same soname), and TorchSharp's own "torch_cpu"/"torch_cuda" lookups find them too.
/// On Linux machines whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04) the stock
/// libLibTorchSharp.so refuses to load; build/TorchSharpNativePatch.targets patches the copy in each output.
/// </remarks>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static bool initialized;
    static string? configuredDirectory;

    /// <summary>The libtorch that was loaded (null before <see cref="EnsureInitialized"/>).</summary>
    public static LibTorchLocation? Loaded { get; private set; }

    /// <summary>
    /// The DeepExtension:Training:LibTorchDirectory setting, set by the worker from its configuration before the
    /// first use of torch; when never set, the environment variable DeepExtension__Training__LibTorchDirectory counts.
    /// </summary>
    public static string? ConfiguredDirectory
    {
        get => configuredDirectory ?? Environment.GetEnvironmentVariable(LibTorchLocator.EnvironmentVariable);
        set
        {
            lock (Gate)
            {
                if (initialized && value != configuredDirectory) throw new InvalidOperationException("libtorch is already loaded; set the folder before the first use of torch.");
                configuredDirectory = value;
            }
        }
    }

    /// <summary>Loads libtorch; throws <see cref="LibTorchException"/> (an <see cref="InvalidOperationException"/>)
    /// saying which folder failed how and what to do.</summary>
    public static void EnsureInitialized()
    {
        if (Volatile.Read(ref initialized)) return;
        lock (Gate)
        {
            if (initialized) return;
            var location = LibTorchLocator.Locate(ConfiguredDirectory, AppContext.BaseDirectory);
            Preload(location);
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException)
            {
                throw new LibTorchException(
                    $"TorchSharp's native library could not be loaded against the libtorch in {location.Directory}. On Linux with an older " +
                    "libstdc++ (Debian 12, Ubuntu 22.04) the build patches runtimes/linux-x64/native/libLibTorchSharp.so in the output folder; " +
                    "rebuild with 'dotnet build' (or publish with -p:DeepXTorchSharpPatch=always when publishing on a newer system for an " +
                    "older one). Inner error: " + Innermost(e).Message, e);
            }
            Loaded = location;
            Volatile.Write(ref initialized, true);
        }
    }

    /// <summary>CUDA device 0 when a CUDA backend is available, else the CPU.</summary>
    public static torch.Device DefaultDevice
    {
        get
        {
            EnsureInitialized();
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }
    }

    /// <summary>
    /// The device a run asked for: "cpu", "cuda" or "cuda:N", or "auto" (the first GPU when there is one). Asking
    /// for a GPU that cannot be used throws a message that says why (CPU libtorch, no driver, no device) and what to do.
    /// </summary>
    public static torch.Device DeviceFor(string requested)
    {
        EnsureInitialized();
        if (requested == "cpu") return torch.CPU;
        if (requested == "auto") return DefaultDevice;
        if (!TryParseCuda(requested, out var index)) throw new ArgumentException($"Unknown device \"{requested}\": use auto, cpu, cuda or cuda:N.");
        if (WhyNoCuda() is { } reason) throw new LibTorchException($"The run asks for {requested}, but {reason}");
        var count = torch.cuda.device_count();
        if (index >= count) throw new LibTorchException($"The run asks for {requested}, but the worker sees {count} GPU{(count == 1 ? "" : "s")} (cuda:0 to cuda:{count - 1}). Choose one of them.");
        return new torch.Device(DeviceType.CUDA, index);
    }

    /// <summary>"cpu" or "cuda:N", as a run records the device it trained on.</summary>
    public static string NameOf(torch.Device device) => device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, device.index)}" : "cpu";

    /// <summary>For the run's log: "cpu (the bundled CPU libtorch 2.10.0 in …)" or "cuda:0, NVIDIA H100 80GB HBM3 (79.2 GiB, compute 9.0; …)".</summary>
    public static string DescribeDevice(torch.Device device)
    {
        var libTorch = Loaded is { } location ? Describe(location) : "libtorch not loaded";
        if (device.type != DeviceType.CUDA) return $"cpu ({libTorch})";
        var index = Math.Max(0, device.index);
        var gpu = NvidiaGpus.List().FirstOrDefault(g => g.Index == index);
        return gpu is null
            ? $"cuda:{index} ({libTorch})"
            : $"cuda:{index}, {gpu.Name} ({gpu.TotalBytes / (1024.0 * 1024 * 1024):0.0} GiB, compute {gpu.ComputeCapability}; {libTorch})";
    }

    /// <summary>"cuda" (index 0) or "cuda:N".</summary>
    public static bool TryParseCuda(string device, out int index)
    {
        index = 0;
        return device == "cuda" || (device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index));
    }

    /// <summary>Null when CUDA can be used; otherwise why not and what to do (one sentence or two).</summary>
    public static string? WhyNoCuda()
    {
        EnsureInitialized();
        var location = Loaded!;
        if (!location.IsCudaBuild)
            return $"the worker loaded a CPU build of libtorch ({Describe(location)}). Set {LibTorchLocator.ConfigurationKey} to the lib " +
                   "folder of a CUDA build of PyTorch (or install one for python3), or choose the cpu device.";
        if (torch.cuda.is_available()) return null;
        if (!NvidiaGpus.DriverPresent)
            return "no NVIDIA driver was found (libcuda.so.1 cannot be loaded). Install the NVIDIA driver; in Docker, start the container " +
                   "with the GPUs (docker run --gpus all, or the GPU reservation of the compose service gpu-worker).";
        var status = NvidiaGpus.DriverStatus;
        return status switch
        {
            "CUDA_ERROR_NO_DEVICE" => "the NVIDIA driver finds no GPU" +
                (Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") is { } visible ? $" (CUDA_VISIBLE_DEVICES={visible})" : "") +
                ". Check nvidia-smi and CUDA_VISIBLE_DEVICES.",
            "CUDA_ERROR_INSUFFICIENT_DRIVER" or "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE" =>
                $"the NVIDIA driver (CUDA {NvidiaGpus.DriverCudaVersion}) is too old for the libtorch in {location.Directory} ({location.Version ?? "version unknown"}). " +
                "Update the driver, or use a PyTorch built for an older CUDA.",
            "CUDA_SUCCESS" => $"libtorch in {location.Directory} reports CUDA unavailable although the driver (CUDA {NvidiaGpus.DriverCudaVersion}) " +
                "sees GPUs: the driver may be older than the CUDA this PyTorch was built for. Update the driver or use a matching PyTorch.",
            _ => $"the NVIDIA driver failed to start ({status}). Check nvidia-smi.",
        };
    }

    /// <summary>"the bundled CPU libtorch 2.10.0 in /app/libtorch-cpu/lib" and the like.</summary>
    public static string Describe(LibTorchLocation location) =>
        (location.Source switch
        {
            LibTorchSource.Configured => "the configured libtorch",
            LibTorchSource.PythonTorch => "the libtorch of the PyTorch that python3 imports",
            _ => "the bundled CPU libtorch",
        }) + (location.Version is { } v ? $" {v}" : "") + $" in {location.Directory}";

    /// <summary>
    /// Loads the chosen libtorch's libraries by full path, then libLibTorchSharp.so with every symbol bound now, so a
    /// libtorch whose version does not fit fails here with the missing symbol instead of later inside a training step.
    /// </summary>
    static void Preload(LibTorchLocation location)
    {
        string[] libraries = location.IsCudaBuild
            ? ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"]
            : ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
        foreach (var library in libraries)
        {
            var path = Path.Combine(location.Directory, library);
            if (!File.Exists(path)) continue;
            try
            {
                NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                throw new LibTorchException($"{Describe(location)} could not be loaded: {path}: {e.Message}. " +
                    (location.IsCudaBuild ? "A CUDA build also needs the CUDA libraries PyTorch installs beside it (the nvidia-* Python packages); " : "") +
                    $"point {LibTorchLocator.ConfigurationKey} at a complete PyTorch or libtorch lib folder.", e);
            }
        }
        // Portable output keeps it under runtimes/linux-x64/native, a linux-x64 publish beside the assemblies.
        var torchSharp = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so") }
            .FirstOrDefault(File.Exists);
        if (location.Source != LibTorchSource.Bundled && OperatingSystem.IsLinux() && torchSharp is not null && Dl.OpenNow(torchSharp) is { } error)
        {
            var newer = LibTorchLocator.IsNewerThanKnown(location.Version) ? " It is newer than the libtorch versions known to work (2.10, 2.11)." : "";
            throw new LibTorchException(
                error.Contains("undefined symbol", StringComparison.Ordinal)
                    ? $"{Describe(location)} does not fit TorchSharp 0.107 (built for libtorch {LibTorchLocator.BuiltFor}): {error}.{newer} " +
                      $"Install PyTorch 2.10 or 2.11 and point {LibTorchLocator.ConfigurationKey} at its lib folder, or leave it empty for the bundled CPU libtorch."
                    : $"TorchSharp's native library could not be loaded against {Describe(location)}: {error}");
        }
    }

    static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>dlopen with RTLD_NOW, which .NET's NativeLibrary does not offer.</summary>
    static unsafe class Dl
    {
        const int RtldNow = 2, RtldGlobal = 0x100;

        /// <summary>Null on success, else dlerror's text.</summary>
        public static string? OpenNow(string path)
        {
            // Called through function pointers: a P/Invoke stub could resolve itself with dlsym between the two
            // calls and so clear the error before dlerror reads it.
            if (!NativeLibrary.TryLoad("libc.so.6", out var libc)
                || !NativeLibrary.TryGetExport(libc, "dlopen", out var open) || !NativeLibrary.TryGetExport(libc, "dlerror", out var error))
                return null; // glibc before 2.34 keeps dlopen in libdl; TorchSharp's own load reports problems there.
            var name = Marshal.StringToCoTaskMemUTF8(path);
            try
            {
                var handle = ((delegate* unmanaged<nint, int, nint>)open)(name, RtldNow | RtldGlobal);
                return handle != 0 ? null : Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)error)()) ?? "dlopen failed";
            }
            finally
            {
                Marshal.FreeCoTaskMem(name);
            }
        }
    }
}
