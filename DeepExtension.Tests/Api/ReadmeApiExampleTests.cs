using System.Diagnostics;
using System.Text.RegularExpressions;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Api;

/// <summary>The HTTP API page's example (docs/api.md), run as written by bash and curl against a console on loopback.</summary>
[OuterTier("starts the console host and runs curl against it")]
public sealed partial class ReadmeApiExampleTests(ConsoleHostFixture console) : IClassFixture<ConsoleHostFixture>
{
    private readonly ConsoleHostFixture _console = console;

    [GeneratedRegex(@"^# HTTP API\n.*?```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ExampleBlock();

    [Fact]
    public async Task ReadmeExample_RunByBash_RegistersUploadsTrainsAndPollsToSucceeded()
    {
        var page = await File.ReadAllTextAsync(RepositoryFiles.PathOf("docs/api.md"));
        var script = ExampleBlock().Match(page) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("docs/api.md has no HTTP API example.");
        var modelPath = _console.Env.AddModelFolder("tiny-qwen2");
        var dataset = _console.Env.WriteFile("chats.jsonl", TrainingHost.TwentyChats());
        var start = new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dataset)!,
            Environment =
            {
                ["DEEPX"] = _console.Host.Address,
                ["DEEPX_EMAIL"] = TestAccount.Admin.Email,
                ["DEEPX_PASSWORD"] = TestAccount.Admin.Password,
                ["MODEL_PATH"] = modelPath,
                ["DATASET"] = "chats.jsonl",
            },
        };

        using var bash = Process.Start(start)!;
        var output = bash.StandardOutput.ReadToEndAsync();
        var errors = bash.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await bash.WaitForExitAsync(timeout.Token);

        var stdout = await output;
        Assert.True(bash.ExitCode == 0, $"exit {bash.ExitCode}\n{stdout}\n{await errors}");
        Assert.Matches(@"train /api/v1/trains/[0-9a-f-]{36}: Succeeded", stdout);
        Assert.Contains("\"step\":", stdout);
        var run = Assert.Single(await _console.Host.Services.GetRequiredService<TrainingRunService>().ListAsync());
        Assert.Equal("first-api-train", run.Name);
        Assert.Equal(TestAccount.Admin.Email, run.CreatedBy);
    }
}
