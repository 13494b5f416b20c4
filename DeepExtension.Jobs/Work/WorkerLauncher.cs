using System.Diagnostics;
using DeepExtension.Core.Data;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Jobs.Engine.Runtime;
using Microsoft.Extensions.Configuration;
using DeepExtension.Core.Work;

namespace DeepExtension.Jobs.Work;

/// <summary>
/// Starts the worker executable (DeepExtension.Jobs) in its own process, so a native crash or an
/// out-of-memory kill ends the work item, not the console. Its stdout/stderr go to the item's log.
/// </summary>
public sealed class WorkerLauncher(DataDirectories directories, DatabaseSetup database, IConfiguration configuration)
{
    public const string WorkerAssembly = "DeepExtension.Jobs";

    /// <summary>How long a stopping console waits for the worker to write its checkpoint and exit.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The lease token a worker is handed (it renews that lease and refuses to run without it).</summary>
    public const string LeaseTokenVariable = "DeepExtension__Work__LeaseToken";
    /// <summary>The process that started the worker: when it is gone, the worker checkpoints and exits (see <see cref="ParentWatch"/>).</summary>
    public const string ParentPidVariable = "DeepExtension__Work__ParentPid";
    /// <summary>The device a node placed a run on ("cpu", "cuda:1"); the worker trains there instead of resolving the run's own request.</summary>
    public const string DeviceVariable = "DeepExtension__Work__Device";

    /// <param name="lease">The lease the calling job holds on the item; the worker renews it while it runs.</param>
    /// <param name="environment">More variables for the worker (the device a run was placed on).</param>
    public async Task<WorkerExit> RunAsync(IReadOnlyList<string> arguments, WorkLog log, CancellationToken stopping, WorkLeaseGrant? lease = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = CreateStartInfo(arguments);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        if (lease is not null)
        {
            start.Environment[LeaseTokenVariable] = lease.Token.ToString(System.Globalization.CultureInfo.InvariantCulture);
            log = log.WithLeaseToken(lease.Token); // what the worker prints is recorded under the lease it runs on
        }
        start.Environment[ParentPidVariable] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        string? lastError = null;
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) Append(log, RunLogLevel.Info, line); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { Length: > 0 } line) return;
            // Stack frames say where, the line before them says what: keep the latter for the failure reason.
            if (!line.TrimStart().StartsWith("at ", StringComparison.Ordinal) && !line.StartsWith("---", StringComparison.Ordinal)) lastError = line;
            Append(log, RunLogLevel.Error, line);
        };

        Directory.CreateDirectory(log.Directory);
        var oomKills = OomKillCounter.ForThisProcess();
        var oomKillsBefore = oomKills.Read();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await process.WaitForExitAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            // The console is stopping: let the worker checkpoint (it treats SIGTERM like a cancel request), then make sure it is gone.
            Signal(process);
            using var grace = new CancellationTokenSource(ShutdownGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
            return new WorkerExit(process.ExitCode, Interrupted: true, lastError);
        }
        await process.WaitForExitAsync(CancellationToken.None); // drains the output events
        return new WorkerExit(process.ExitCode, Interrupted: false, lastError, OomKillCounter.KilledBetween(oomKillsBefore, oomKills.Read()));
    }

    /// <summary>
    /// Runs a short worker command (for example <c>devices</c>) and returns its exit code and standard output;
    /// standard error is appended to the output when it fails. Killed after <paramref name="timeout"/>.
    /// </summary>
    public async Task<(int ExitCode, string Output, string Error)> RunCapturedAsync(IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var process = new Process { StartInfo = CreateStartInfo(arguments) };
        Directory.CreateDirectory(directories.Root); // The worker's working directory.
        process.Start();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"The worker's {arguments[0]} command did not finish within {timeout.TotalSeconds:0} s.");
        }
        return (process.ExitCode, await output, await error);
    }

    private ProcessStartInfo CreateStartInfo(IReadOnlyList<string> arguments)
    {
        var baseDirectory = AppContext.BaseDirectory;
        var appHost = Path.Combine(baseDirectory, OperatingSystem.IsWindows() ? WorkerAssembly + ".exe" : WorkerAssembly);
        var dll = Path.Combine(baseDirectory, WorkerAssembly + ".dll");
        ProcessStartInfo start;
        if (File.Exists(appHost))
        {
            start = new ProcessStartInfo(appHost);
        }
        else
        {
            start = new ProcessStartInfo(DotnetHost());
            start.ArgumentList.Add(dll);
        }
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.WorkingDirectory = directories.Root;

        // The worker sees the same data and database as this process, passed by environment (not argv, which others can read).
        start.Environment["DeepExtension__DataRoot"] = directories.Root;
        start.Environment["DeepExtension__ModelsRoot"] = directories.ModelsRoot;
        start.Environment["DeepExtension__Database__Provider"] = database.Provider.ToString();
        start.Environment["DeepExtension__Database__ConnectionString"] = database.ConnectionString;
        start.Environment["DeepExtension__Scheduler__Enabled"] = "false";
        // The libtorch to load (a CUDA build for GPUs), as configured here: relative paths mean this process's working directory.
        if (configuration[LibTorchLocator.ConfigurationKey] is { Length: > 0 } libTorch)
        {
            start.Environment[LibTorchLocator.EnvironmentVariable] =
                string.Equals(libTorch, LibTorchLocator.BundledValue, StringComparison.OrdinalIgnoreCase) ? libTorch : Path.GetFullPath(libTorch);
        }
        return start;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";

    private static void Signal(Process process)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                process.Kill(entireProcessTree: true);
            }
            else
            {
                using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
                {
                    UseShellExecute = false,
                });
                kill?.WaitForExit(2000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static void Append(WorkLog log, RunLogLevel level, string line)
    {
        // The worker writes its own structured log; only what it prints outside it (native crashes, runtime errors) lands here.
        if (line.StartsWith('{')) return;
        log.Append(level, line);
    }
}
