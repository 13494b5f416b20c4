using TorchSharp;

namespace DeepExtension.Jobs.Engine.Runtime;

/// <summary>
/// The one place that starts TorchSharp's native backend. Call <see cref="EnsureInitialized"/> before the
/// first use of <c>torch</c> (the engine's entry points do): it is cheap after the first call, thread-safe,
/// and turns the native loader's cryptic failure into an actionable message.
/// </summary>
/// <remarks>
/// On Linux machines whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04) the stock
/// libLibTorchSharp.so refuses to load. The build fixes that: build/TorchSharpNativePatch.targets patches the
/// copy in each project's output. No stub library has to be preloaded, because the one symbol of that version,
/// <c>std::ios_base_library_init()</c>, is never bound (no relocation refers to it; the patcher checks this and
/// refuses otherwise). This class therefore only loads and checks.
/// </remarks>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static bool initialized;

    /// <summary>Loads libtorch (CPU; CUDA too when a CUDA backend package is present); throws
    /// <see cref="InvalidOperationException"/> with a hint when the native library cannot be loaded.</summary>
    public static void EnsureInitialized()
    {
        if (Volatile.Read(ref initialized)) return;
        lock (Gate)
        {
            if (initialized) return;
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
            {
                throw new InvalidOperationException(
                    "TorchSharp's native library could not be loaded. On Linux with an older libstdc++ (Debian 12, " +
                    "Ubuntu 22.04) the build patches runtimes/linux-x64/native/libLibTorchSharp.so in the output folder; " +
                    "rebuild with 'dotnet build' (or publish with -p:DeepXTorchSharpPatch=always when publishing on a " +
                    "newer system for an older one). Inner error: " + Innermost(e).Message, e);
            }
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

    static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
