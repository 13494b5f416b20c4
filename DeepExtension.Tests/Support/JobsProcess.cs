using System.Diagnostics;
using DeepExtension.Core;

namespace DeepExtension.Tests.Support;

/// <summary>
/// The jobs executable (<c>DeepExtension.Jobs</c>) started by hand on a test's data root: a worker command
/// (<c>train</c>, <c>merge-save</c>) or a scheduler node, with settings given as its environment.
/// </summary>
internal static class JobsProcess
{
    public static ProcessStartInfo StartInfo(TestEnvironment env, IReadOnlyDictionary<string, string?>? settings, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "DeepExtension.Jobs"), arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = env.DataRoot,
        };
        start.Environment[$"{DeepExtensionOptions.SectionName}__DataRoot"] = env.DataRoot;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        return start;
    }

    /// <summary>Runs the process to its end (at most <paramref name="limit"/>) and returns its exit code and standard error.</summary>
    public static async Task<(int ExitCode, string Error)> RunAsync(ProcessStartInfo start, TimeSpan limit)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        await process.WaitForExitAsync(timeout.Token);
        await output;
        return (process.ExitCode, await error);
    }
}
