using System.Diagnostics;
using System.Text.RegularExpressions;

namespace DeepExtension.Jobs.Engine.Runtime;

/// <summary>Where a libtorch was found.</summary>
public enum LibTorchSource
{
    /// <summary>DeepExtension:Training:LibTorchDirectory.</summary>
    Configured,
    /// <summary>The <c>lib</c> folder of the PyTorch that <c>python3</c> imports.</summary>
    PythonTorch,
    /// <summary>The CPU libtorch shipped in the output's libtorch-cpu/lib (package libtorch-cpu-linux-x64).</summary>
    Bundled,
}

/// <summary>A libtorch folder chosen to load: its lib directory, where it came from, its version when known, and
/// whether it is a CUDA build (has libtorch_cuda.so).</summary>
public sealed record LibTorchLocation(string Directory, LibTorchSource Source, string? Version, bool IsCudaBuild);

/// <summary>
/// Chooses the one libtorch the worker loads: the configured folder, else a PyTorch installation that python3
/// imports, else the bundled CPU libtorch. Checks what can be checked before loading (the folder, the libraries,
/// the version) and says what to do when it does not fit.
/// </summary>
public static partial class LibTorchLocator
{
    public const string ConfigurationKey = "DeepExtension:Training:LibTorchDirectory";
    public const string EnvironmentVariable = "DeepExtension__Training__LibTorchDirectory";
    /// <summary>Value of the setting that skips discovery and loads the bundled CPU libtorch.</summary>
    public const string BundledValue = "bundled";
    /// <summary>The bundled libtorch, relative to the application folder (build/LibTorchCpuNatives.targets puts it there).</summary>
    public const string BundledFolder = "libtorch-cpu";
    /// <summary>The libtorch that TorchSharp 0.107's libLibTorchSharp.so is built against.</summary>
    public static readonly Version BuiltFor = new(2, 10);

    /// <summary>Lowest and highest minor release of libtorch 2 shown to work with this TorchSharp (2.11: shared notes "gpu-device.md").</summary>
    static readonly Version Oldest = new(2, 10), NewestKnown = new(2, 11);

    static readonly TimeSpan PythonTimeout = TimeSpan.FromSeconds(20);

    /// <param name="configured">The setting's value (null or empty: discover).</param>
    /// <param name="applicationDirectory">Where the bundled libtorch-cpu folder is.</param>
    /// <param name="python">The Python to ask for a PyTorch installation.</param>
    public static LibTorchLocation Locate(string? configured, string applicationDirectory, string python = "python3")
    {
        if (string.Equals(configured?.Trim(), BundledValue, StringComparison.OrdinalIgnoreCase)) return Bundled(applicationDirectory);
        if (!string.IsNullOrWhiteSpace(configured)) return Check(configured.Trim(), LibTorchSource.Configured);
        if (PythonTorchLib(python) is { } lib && File.Exists(Path.Combine(lib, "libtorch.so"))) return Check(lib, LibTorchSource.PythonTorch);
        return Bundled(applicationDirectory);
    }

    static LibTorchLocation Bundled(string applicationDirectory)
    {
        var lib = Path.Combine(applicationDirectory, BundledFolder, "lib");
        if (!File.Exists(Path.Combine(lib, "libtorch.so")))
            throw new LibTorchException(
                $"The bundled CPU libtorch is missing from {lib}. Rebuild or republish the application (the build copies it there " +
                $"from the libtorch-cpu-linux-x64 package), or set {ConfigurationKey} to the lib folder of a PyTorch installation.");
        return new LibTorchLocation(lib, LibTorchSource.Bundled, ReadVersion(lib), IsCudaBuild: false);
    }

    /// <summary>Validates a configured or discovered folder; accepts the PyTorch or libtorch root for its lib folder.</summary>
    static LibTorchLocation Check(string directory, LibTorchSource source)
    {
        var origin = source == LibTorchSource.Configured ? $"{ConfigurationKey} ({directory})" : $"The PyTorch that python3 imports ({directory})";
        // Symbolic links resolved: the CUDA libraries PyTorch's libtorch needs are found relative to its real folder ($ORIGIN/../../nvidia/...).
        var full = RealPath(Path.GetFullPath(directory));
        if (!System.IO.Directory.Exists(full))
            throw new LibTorchException($"{origin} does not exist. Set it to the lib folder of a PyTorch installation " +
                "(python3 -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\") or of an extracted libtorch archive, " +
                $"or leave it empty to use the bundled CPU libtorch.");
        if (!File.Exists(Path.Combine(full, "libtorch.so")) && File.Exists(Path.Combine(full, "lib", "libtorch.so"))) full = Path.Combine(full, "lib");
        var missing = new[] { "libtorch.so", "libtorch_cpu.so", "libc10.so" }.Where(f => !File.Exists(Path.Combine(full, f))).ToList();
        if (missing.Count > 0)
            throw new LibTorchException($"{origin} is not a libtorch folder: {string.Join(", ", missing)} missing. Point it at the lib folder " +
                "of a PyTorch installation (the folder holding libtorch.so, libtorch_cpu.so and libc10.so) or of an extracted libtorch archive.");
        var version = ReadVersion(full);
        if (ParseVersion(version) is { } v && (v.Major != Oldest.Major || v < Oldest))
            throw new LibTorchException($"{origin} holds libtorch {version}, which does not fit: TorchSharp 0.107 is built for libtorch {BuiltFor} " +
                $"and works with {Oldest} to {NewestKnown}. Install PyTorch {Oldest} or newer (2.x) and point the setting at its lib folder, " +
                "or leave it empty to use the bundled CPU libtorch.");
        return new LibTorchLocation(full, source, version, File.Exists(Path.Combine(full, "libtorch_cuda.so")));
    }

    /// <summary>True when the version is newer than any shown to work (it may still load; symbol resolution decides).</summary>
    public static bool IsNewerThanKnown(string? version) => ParseVersion(version) is { } v && v > NewestKnown;

    /// <summary>
    /// The libtorch version of a lib folder: PyTorch writes torch/version.py beside it, a libtorch archive has
    /// build-version in its root (so does the bundled folder). Null when neither is there.
    /// </summary>
    public static string? ReadVersion(string lib)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(lib)) ?? lib;
        var versionPy = Path.Combine(parent, "version.py");
        if (File.Exists(versionPy))
        {
            var match = Regex.Match(File.ReadAllText(versionPy), @"^__version__\s*=\s*['""]([^'""]+)['""]", RegexOptions.Multiline);
            if (match.Success) return match.Groups[1].Value;
        }
        var buildVersion = Path.Combine(parent, "build-version");
        return File.Exists(buildVersion) && File.ReadAllText(buildVersion).Trim() is { Length: > 0 } text ? text : null;
    }

    /// <summary>"2.11.0+cu130" → 2.11; null when not a version.</summary>
    public static Version? ParseVersion(string? version) =>
        version is not null && Regex.Match(version, @"^(\d+)\.(\d+)") is { Success: true } m
            ? new Version(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))
            : null;

    /// <summary>The path with every symbolic link resolved (realpath); the path itself where that fails.</summary>
    static string RealPath(string path)
    {
        if (!OperatingSystem.IsLinux()) return path;
        var resolved = Native.realpath(path, 0);
        if (resolved == 0) return path;
        try
        {
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved) ?? path;
        }
        finally
        {
            Native.free(resolved);
        }
    }

    static partial class Native
    {
        [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "realpath", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
        internal static partial nint realpath(string path, nint resolved);

        [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "free")]
        internal static partial void free(nint pointer);
    }

    /// <summary>The lib folder of the PyTorch that <paramref name="python"/> imports; null when there is none (or no Python).</summary>
    public static string? PythonTorchLib(string python)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import torch, os; print(os.path.dirname(torch.__file__))");
        try
        {
            using var process = Process.Start(start);
            if (process is null) return null;
            var output = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(PythonTimeout))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }
            if (process.ExitCode != 0) return null;
            var torchDirectory = output.Result.Trim().Split('\n').LastOrDefault()?.Trim();
            return string.IsNullOrEmpty(torchDirectory) ? null : Path.Combine(torchDirectory, "lib");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // No such Python.
        }
    }
}

/// <summary>A libtorch that cannot be used, with what to do about it.</summary>
public sealed class LibTorchException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
