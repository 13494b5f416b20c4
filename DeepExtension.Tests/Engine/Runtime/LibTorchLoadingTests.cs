using System.Diagnostics;
using DeepExtension.Core;
using DeepExtension.Core.Data;
using DeepExtension.Core.Storage;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace DeepExtension.Tests.Engine.Runtime;

/// <summary>
/// Which libtorch the worker loads (configured folder, else python3's PyTorch, else the bundled CPU one), proved on
/// real worker processes with copies of the bundled CPU natives in other folders, and what each failure says.
/// </summary>
public class LibTorchLoadingTests
{
    static string Bundled => Path.Combine(AppContext.BaseDirectory, LibTorchLocator.BundledFolder, "lib");

    /// <summary>A PyTorch-like layout: DIR/torch/lib with copies of the bundled natives and DIR/torch/version.py.</summary>
    static string CopyOfBundled(string root, string version = "2.10.0+cpu")
    {
        var lib = Path.Combine(root, "torch", "lib");
        Directory.CreateDirectory(lib);
        foreach (var file in Directory.GetFiles(Bundled)) File.Copy(file, Path.Combine(lib, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(root, "torch", "version.py"), $"__version__ = '{version}'\n");
        return lib;
    }

    /// <summary>A stand-in python3 that prints <paramref name="torchDirectory"/> as torch's folder (or fails when null).</summary>
    static string FakePython(string directory, string? torchDirectory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "python3");
        File.WriteAllText(path, torchDirectory is null ? "#!/bin/sh\necho 'No module named torch' >&2\nexit 1\n" : $"#!/bin/sh\necho '{torchDirectory}'\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Runs the real worker's devices command with the given extra environment.</summary>
    static async Task<(int Code, DevicesReport? Report, string Output)> Devices(IDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, WorkerLauncher.WorkerAssembly + ".dll"));
        start.ArgumentList.Add("devices");
        start.Environment.Remove(LibTorchLocator.EnvironmentVariable);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (process.ExitCode, DevicesReport.Parse(await output), await output + await error);
    }

    [Fact]
    public void Locate_Configured_WinsOverPythonAndBundled()
    {
        using var temp = new TempDirectory();
        var configured = CopyOfBundled(Path.Combine(temp.Path, "configured"));
        var pythonLib = CopyOfBundled(Path.Combine(temp.Path, "python"));
        var python = FakePython(Path.Combine(temp.Path, "bin"), Path.GetDirectoryName(pythonLib));

        var location = LibTorchLocator.Locate(configured, AppContext.BaseDirectory, python);

        Assert.Equal(LibTorchSource.Configured, location.Source);
        Assert.Equal(configured, location.Directory);
        Assert.Equal("2.10.0+cpu", location.Version);
        Assert.False(location.IsCudaBuild);
    }

    [Fact]
    public void Locate_NothingConfigured_UsesTheLibOfPythonsTorch()
    {
        using var temp = new TempDirectory();
        var pythonLib = CopyOfBundled(Path.Combine(temp.Path, "python"), "2.11.0+cu130");
        var python = FakePython(Path.Combine(temp.Path, "bin"), Path.GetDirectoryName(pythonLib));

        var location = LibTorchLocator.Locate(null, AppContext.BaseDirectory, python);

        Assert.Equal(LibTorchSource.PythonTorch, location.Source);
        Assert.Equal(pythonLib, location.Directory);
        Assert.Equal("2.11.0+cu130", location.Version);
    }

    [Fact]
    public void Locate_NoTorchInPythonOrNoPython_UsesTheBundledCpuLibTorch()
    {
        using var temp = new TempDirectory();
        var failing = FakePython(Path.Combine(temp.Path, "bin"), null);

        var withoutTorch = LibTorchLocator.Locate("", AppContext.BaseDirectory, failing);
        var withoutPython = LibTorchLocator.Locate(null, AppContext.BaseDirectory, Path.Combine(temp.Path, "no-such-python"));

        Assert.Equal(LibTorchSource.Bundled, withoutTorch.Source);
        Assert.Equal(Path.GetFullPath(Bundled), Path.GetFullPath(withoutTorch.Directory));
        Assert.Equal("2.10.0", withoutTorch.Version);
        Assert.Equal(LibTorchSource.Bundled, withoutPython.Source);
    }

    [Fact]
    public void Locate_BundledValue_SkipsPython()
    {
        using var temp = new TempDirectory();
        var pythonLib = CopyOfBundled(Path.Combine(temp.Path, "python"));
        var python = FakePython(Path.Combine(temp.Path, "bin"), Path.GetDirectoryName(pythonLib));

        Assert.Equal(LibTorchSource.Bundled, LibTorchLocator.Locate("bundled", AppContext.BaseDirectory, python).Source);
    }

    [Fact]
    public void Locate_TorchRootInsteadOfLib_UsesItsLibFolder()
    {
        using var temp = new TempDirectory();
        var lib = CopyOfBundled(temp.Path);

        Assert.Equal(lib, LibTorchLocator.Locate(Path.GetDirectoryName(lib), AppContext.BaseDirectory).Directory);
    }

    [Fact]
    public void Locate_MissingFolder_SaysItDoesNotExistAndWhatToSetInstead()
    {
        var missing = Path.Combine(Path.GetTempPath(), "deepx-no-such-libtorch-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<LibTorchException>(() => LibTorchLocator.Locate(missing, AppContext.BaseDirectory));

        Assert.Contains($"DeepExtension:Training:LibTorchDirectory ({missing}) does not exist", error.Message);
        Assert.Contains("lib folder of a PyTorch installation", error.Message);
    }

    [Fact]
    public void Locate_FolderWithoutLibTorch_NamesTheMissingLibraries()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(Path.Combine(temp.Path, "libc10.so"), "");

        var error = Assert.Throws<LibTorchException>(() => LibTorchLocator.Locate(temp.Path, AppContext.BaseDirectory));

        Assert.Contains("is not a libtorch folder: libtorch.so, libtorch_cpu.so missing", error.Message);
    }

    [Theory]
    [InlineData("1.13.1+cu117")]
    [InlineData("2.9.1")]
    [InlineData("3.0.0")]
    public void Locate_LibTorchVersionThatDoesNotFit_SaysWhichVersionFits(string version)
    {
        using var temp = new TempDirectory();
        var lib = CopyOfBundled(temp.Path, version);

        var error = Assert.Throws<LibTorchException>(() => LibTorchLocator.Locate(lib, AppContext.BaseDirectory));

        Assert.Contains($"holds libtorch {version}, which does not fit: TorchSharp 0.107 is built for libtorch 2.10", error.Message);
        Assert.Contains("Install PyTorch 2.10 or newer", error.Message);
    }

    [Fact]
    public void ReadVersion_LibTorchArchive_ReadsBuildVersion()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(temp.Path, "libtorch", "lib"));
        File.WriteAllText(Path.Combine(temp.Path, "libtorch", "build-version"), "2.10.0+cu128\n");

        Assert.Equal("2.10.0+cu128", LibTorchLocator.ReadVersion(Path.Combine(temp.Path, "libtorch", "lib")));
        Assert.Null(LibTorchLocator.ReadVersion(temp.Path));
    }

    [OuterTier("starts the worker process")]
    [Fact]
    public async Task DevicesCommand_ConfiguredCopyOfTheNatives_WorkerMapsLibTorchFromThere()
    {
        using var temp = new TempDirectory();
        var lib = CopyOfBundled(temp.Path);
        var options = new DeepExtensionOptions { DataRoot = Path.Combine(temp.Path, "data") };
        var directories = new DataDirectories(options);
        // The console's configuration, as appsettings.json or --DeepExtension:... would give it: it must reach the worker.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [LibTorchLocator.ConfigurationKey] = lib,
        }).Build();
        var devices = new TrainingDevices(new WorkerLauncher(directories, new DatabaseSetup(options, directories), configuration),
            directories, configuration, TimeProvider.System);

        var snapshot = await devices.GetAsync(CancellationToken.None);

        Assert.Null(snapshot.Error);
        var report = snapshot.Report!;
        Assert.Equal("cpu", report.Backend);
        Assert.Equal(lib, report.LibTorch!.Directory);
        Assert.Equal("configured", report.LibTorch.Source);
        Assert.Equal("2.10.0+cpu", report.LibTorch.Version);
        Assert.Equal(lib, report.LibTorch.LoadedFrom);
        Assert.Empty(report.Gpus); // No NVIDIA driver on this machine: an empty list, not an error.
        Assert.True(File.Exists(Path.Combine(directories.Root, TrainingDevices.FileName)));
    }

    [OuterTier("starts the worker process")]
    [Fact]
    public async Task DevicesCommand_NothingConfigured_WorkerUsesPythonsTorchElseTheBundledOne()
    {
        using var temp = new TempDirectory();
        var pythonLib = CopyOfBundled(Path.Combine(temp.Path, "python"), "2.11.0+cpu");
        var bin = Path.GetDirectoryName(FakePython(Path.Combine(temp.Path, "bin"), Path.GetDirectoryName(pythonLib)))!;
        var noTorchBin = Path.GetDirectoryName(FakePython(Path.Combine(temp.Path, "no-torch-bin"), null))!;
        var path = Environment.GetEnvironmentVariable("PATH");

        var (pythonCode, pythonReport, pythonOutput) = await Devices(new Dictionary<string, string?> { ["PATH"] = $"{bin}:{path}" });
        var (bundledCode, bundledReport, bundledOutput) = await Devices(new Dictionary<string, string?> { ["PATH"] = $"{noTorchBin}:{path}" });

        Assert.True(pythonCode == 0, pythonOutput);
        Assert.Equal("python", pythonReport!.LibTorch!.Source);
        Assert.Equal(pythonLib, pythonReport.LibTorch.LoadedFrom);
        Assert.Equal("2.11.0+cpu", pythonReport.LibTorch.Version);
        Assert.True(bundledCode == 0, bundledOutput);
        Assert.Equal("bundled", bundledReport!.LibTorch!.Source);
        Assert.Equal(Path.GetFullPath(Bundled), bundledReport.LibTorch.LoadedFrom);
    }

    [OuterTier("starts the worker process")]
    [Fact]
    public async Task DevicesCommand_LibTorchWhoseSymbolsDoNotFit_SaysItDoesNotFitAndNamesTheSymbol()
    {
        using var temp = new TempDirectory();
        // A libtorch_cpu.so that lacks what libLibTorchSharp.so needs, as a libtorch of another version would.
        var lib = CopyOfBundled(temp.Path, "2.99.0");
        File.Copy(Path.Combine(lib, "libtorch_global_deps.so"), Path.Combine(lib, "libtorch_cpu.so"), overwrite: true);

        var (code, report, output) = await Devices(new Dictionary<string, string?> { [LibTorchLocator.EnvironmentVariable] = lib });

        Assert.Equal(1, code);
        Assert.NotNull(report);
        Assert.Contains($"the configured libtorch 2.99.0 in {lib} does not fit TorchSharp 0.107 (built for libtorch 2.10)", report.Error, StringComparison.Ordinal);
        Assert.Contains("undefined symbol", report.Error, StringComparison.Ordinal);
        Assert.Contains("newer than the libtorch versions known to work", report.Error, StringComparison.Ordinal);
        Assert.Empty(report.Gpus);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [OuterTier("starts the worker process")]
    [Fact]
    public async Task DevicesCommand_CudaBuildWithoutDriver_ReportsCpuBackendAndSaysInstallTheDriver()
    {
        using var temp = new TempDirectory();
        // The CPU natives plus a library named libtorch_cuda.so make a "CUDA build" on a machine without an NVIDIA driver.
        var lib = CopyOfBundled(temp.Path);
        File.Copy(Path.Combine(lib, "libtorch_global_deps.so"), Path.Combine(lib, "libtorch_cuda.so"));

        var (code, report, output) = await Devices(new Dictionary<string, string?> { [LibTorchLocator.EnvironmentVariable] = lib });

        Assert.True(code == 0, output);
        Assert.Equal("cpu", report!.Backend);
        Assert.True(report.LibTorch!.CudaBuild);
        Assert.StartsWith("no NVIDIA driver was found (libcuda.so.1 cannot be loaded). Install the NVIDIA driver", report.CudaUnavailableReason);
        Assert.Empty(report.Gpus);
    }

    [OuterTier("starts the worker process")]
    [Fact]
    public async Task DevicesCommand_MissingConfiguredFolder_ExitsOneWithTheReason()
    {
        var (code, report, _) = await Devices(new Dictionary<string, string?> { [LibTorchLocator.EnvironmentVariable] = "/nonexistent/torch/lib" });

        Assert.Equal(1, code);
        Assert.Equal("none", report!.Backend);
        Assert.Contains("(/nonexistent/torch/lib) does not exist", report.Error);
    }
}
