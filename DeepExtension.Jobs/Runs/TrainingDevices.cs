using DeepExtension.Core.Storage;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Work;
using DeepExtension.Jobs.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs.Runs;

/// <summary>The devices of the machine that trains, and when they were read.</summary>
/// <param name="Report">Null when no report could be had; then <paramref name="Error"/> says why.</param>
public sealed record TrainingDevicesSnapshot(DevicesReport? Report, DateTimeOffset At, string? Error);

/// <summary>
/// The devices of the machine that trains, as its worker sees them (<c>DeepExtension.Jobs devices</c>, so the same
/// libtorch and GPUs as a training run). Where this process runs the scheduler, it starts that command itself and
/// caches the answer for a minute; where a separate worker node schedules (docker compose), it reads the report that
/// node keeps in the data root (<see cref="FileName"/>, refreshed by <see cref="TrainingDevicesReporter"/>).
/// </summary>
public sealed class TrainingDevices(WorkerLauncher launcher, DataDirectories directories, IConfiguration configuration, TimeProvider clock)
{
    public const string FileName = "devices.json";
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);
    static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private TrainingDevicesSnapshot? _cached;

    private string ReportPath => Path.Combine(directories.Root, FileName);

    private bool SchedulesHere => configuration.GetValue(JobsHostingExtensions.SchedulerEnabledKey, true);

    /// <summary>The latest report: at most <see cref="MaxAge"/> old where this process schedules, else as the worker node last wrote it.</summary>
    public async Task<TrainingDevicesSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        if (!SchedulesHere) return ReadReportFile();
        if (_cached is { } cached && clock.GetUtcNow() - cached.At < MaxAge) return cached;
        return await RefreshAsync(cancellationToken);
    }

    /// <summary>The latest report this process read, of any age; null before the first.</summary>
    public TrainingDevicesSnapshot? Latest => _cached;

    /// <summary>Runs the worker's devices command now, keeps its answer and writes it to the data root for other nodes.</summary>
    public async Task<TrainingDevicesSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_cached is { } fresh && clock.GetUtcNow() - fresh.At < TimeSpan.FromSeconds(1)) return fresh;
            TrainingDevicesSnapshot snapshot;
            try
            {
                var (exitCode, output, error) = await launcher.RunCapturedAsync(["devices"], CommandTimeout, cancellationToken);
                var report = DevicesReport.Parse(output);
                snapshot = report is null
                    ? new TrainingDevicesSnapshot(null, clock.GetUtcNow(), $"The worker's devices command failed (exit code {exitCode}): {LastLine(error)}")
                    : new TrainingDevicesSnapshot(report, clock.GetUtcNow(), report.Error);
                if (report is not null)
                {
                    Directory.CreateDirectory(directories.Root);
                    var temp = ReportPath + ".tmp";
                    await File.WriteAllTextAsync(temp, output, cancellationToken);
                    File.Move(temp, ReportPath, overwrite: true);
                }
            }
            catch (Exception e) when (e is TimeoutException or IOException or System.ComponentModel.Win32Exception)
            {
                snapshot = new TrainingDevicesSnapshot(null, clock.GetUtcNow(), e.Message);
            }
            _cached = snapshot;
            return snapshot;
        }
        finally
        {
            _gate.Release();
        }
    }

    private TrainingDevicesSnapshot ReadReportFile()
    {
        try
        {
            var report = DevicesReport.Parse(File.ReadAllText(ReportPath));
            return new TrainingDevicesSnapshot(report, File.GetLastWriteTimeUtc(ReportPath),
                report is null ? "The worker node's device report cannot be read." : report.Error);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new TrainingDevicesSnapshot(null, clock.GetUtcNow(), "The worker node has not reported its devices yet (it does when its scheduler starts).");
        }
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";
}

/// <summary>On a worker node: writes the device report at start and every few minutes, for the console to read.</summary>
public sealed class TrainingDevicesReporter(TrainingDevices devices) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await devices.RefreshAsync(stoppingToken);
                await Task.Delay(Interval, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
