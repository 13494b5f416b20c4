using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepExtension.Jobs.Engine.Runtime;

/// <summary>The libtorch a worker loaded.</summary>
/// <param name="Directory">The folder chosen (configured, PyTorch's lib, or the bundled one).</param>
/// <param name="LoadedFrom">Where the process really mapped libtorch_cpu.so from (/proc/self/maps); null where unknown.</param>
public sealed record LibTorchReport(string Directory, string Source, string? Version, bool CudaBuild, string? LoadedFrom);

/// <summary>
/// What <c>DeepExtension.Jobs devices</c> prints: the backend the worker loaded (cpu or cuda), its libtorch, the
/// NVIDIA driver and every GPU. A machine without a driver has an empty GPU list, which is not an error;
/// <see cref="Error"/> is set only when libtorch itself cannot be loaded.
/// </summary>
public sealed record DevicesReport(
    string Backend,
    LibTorchReport? LibTorch,
    string? CudaUnavailableReason,
    string? DriverCudaVersion,
    IReadOnlyList<GpuInfo> Gpus,
    string? Error)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Loads libtorch (as training would) and collects the report; never throws for a libtorch that fails to load.</summary>
    public static DevicesReport Collect()
    {
        var gpus = NvidiaGpus.List();
        try
        {
            TorchRuntime.EnsureInitialized();
        }
        catch (InvalidOperationException e)
        {
            return new DevicesReport("none", null, null, NvidiaGpus.DriverCudaVersion, gpus, e.Message);
        }
        var location = TorchRuntime.Loaded!;
        var whyNot = TorchRuntime.WhyNoCuda();
        var libTorch = new LibTorchReport(location.Directory, location.Source switch
        {
            LibTorchSource.Configured => "configured",
            LibTorchSource.PythonTorch => "python",
            _ => "bundled",
        }, location.Version, location.IsCudaBuild, MappedDirectory("libtorch_cpu.so"));
        return new DevicesReport(whyNot is null ? "cuda" : "cpu", libTorch, location.IsCudaBuild ? whyNot : null, NvidiaGpus.DriverCudaVersion, gpus, null);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static DevicesReport? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<DevicesReport>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The folder this process mapped <paramref name="library"/> from, per /proc/self/maps.</summary>
    public static string? MappedDirectory(string library)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/');
            if (slash >= 0 && Path.GetFileName(line[slash..].Trim()) == library) return Path.GetDirectoryName(line[slash..].Trim());
        }
        return null;
    }

    /// <summary>The torch device name of a GPU ("cuda" for the first, "cuda:N" for the others).</summary>
    public static string DeviceName(GpuInfo gpu) => gpu.Index == 0 ? "cuda" : $"cuda:{gpu.Index}";
}
