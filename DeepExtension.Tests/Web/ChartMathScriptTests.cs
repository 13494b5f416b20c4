using System.Diagnostics;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Web;

/// <summary>The charts' pure JavaScript (EMA, downsampling, axis mapping) under Node's built-in test runner.</summary>
[OuterTier("starts Node.js")]
public sealed class ChartMathScriptTests
{
    [Fact]
    public async Task ChartMath_NodeTestRunner_PassesEveryTest()
    {
        var web = RepositoryFiles.PathOf("DeepExtension.Web");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = web,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--test");
        start.ArgumentList.Add(Path.Combine("js-tests", "chart-math.test.mjs"));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"node --test exited with {process.ExitCode}:\n{output}");
        Assert.Contains("# fail 0", output);
    }
}
