using System.Diagnostics;
using System.Text;
using DeepExtension.Core;
using DeepExtension.Core.Nodes;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Work;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A real <c>DeepExtension.Jobs worker</c> process (a worker node) on a test's database and data root; killed (with
/// everything it started) when disposed, so no node outlives its test.
/// </summary>
public sealed class WorkerNodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WorkerNodeProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// What every test node is started with: the test's data root and PostgreSQL database, <paramref name="name"/>, a
    /// heartbeat every 0.5 s and one CPU device. Tests add to it (or remove from it) what they are about.
    /// </summary>
    public static Dictionary<string, string> Settings(TestEnvironment env, string name) => new()
    {
        [$"{DeepExtensionOptions.SectionName}:DataRoot"] = env.DataRoot,
        [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = "PostgreSql",
        [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
        [NodeHeartbeat.NameKey] = name,
        [NodeService.HeartbeatKey] = "0.5",
        [NodeDevices.DevicesKey] = "cpu",
    };

    /// <summary>Starts <c>worker</c> with <paramref name="settings"/> as <c>--Key=value</c> arguments.</summary>
    public static WorkerNodeProcess Start(IReadOnlyDictionary<string, string> settings, string command = "worker")
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, WorkerLauncher.WorkerAssembly + ".dll"));
        start.ArgumentList.Add(command);
        foreach (var (key, value) in settings) start.ArgumentList.Add($"--{key}={value}");
        // The bundled CPU libtorch, whatever python3 this machine has: the devices report stays quick.
        start.Environment["DeepExtension__Training__LibTorchDirectory"] = "bundled";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return new WorkerNodeProcess(Process.Start(start) ?? throw new InvalidOperationException("The worker did not start."));
    }

    /// <summary>Waits for the process to exit on its own and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit(); // drains the output events
        return _process.ExitCode;
    }

    /// <summary>Power loss: SIGKILL, no chance to say goodbye.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            KillHard();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
