using System.Net;
using System.Text.Json.Nodes;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Accounts;

/// <summary>A run's log download over real HTTP: what it shows depends on the role.</summary>
[OuterTier("starts the console host")]
public sealed class LogDownloadTests : IAsyncLifetime
{
    private const string Failure = "Worker failed reading /srv/deepx/data/runs/abc/checkpoints/step-4/adapter.safetensors\n"
        + "   at DeepExtension.Jobs.Runs.Training.RunTrainer.LoadAsync(String path) in /build/src/RunTrainer.cs:line 42\n"
        + "   at DeepExtension.Jobs.Runs.TrainCommand.RunAsync()";

    private readonly ConsoleHostFixture _console = new() { Migrate = true };

    public Task InitializeAsync() => _console.InitializeAsync();

    public Task DisposeAsync() => _console.DisposeAsync();

    [Fact]
    public async Task RunLog_ViewerAndMember_ViewerGetsNoAbsolutePathsOrStackFrames()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(_console.Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        // Recorded, never executed: the log is written here as a failed worker would have.
        var runs = new TrainingRunService(_console.Env.DbFactory, _console.Env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var started = await runs.StartAsync(new NewTrainRequest("logged", model.Id, version.Id, method.Id, new JsonObject { ["lora_r"] = 4, ["max_tokens"] = 128 }));
        Assert.True(started.Succeeded, started.AllErrors);
        var run = started.Value!;
        LogFile.Append(runs.FilesOf(run), new LogLine(DateTimeOffset.UtcNow, RunLogLevel.Error, Failure));
        var users = _console.Host.Services.GetRequiredService<UserAdministration>();
        var viewer = new TestAccount("viewer@deepx.test", "Viewer-Passw0rd!");
        var member = new TestAccount("member@deepx.test", "Member-Passw0rd!");
        Assert.True((await users.CreateAsync(viewer.Email, viewer.Password, Roles.Viewer)).Succeeded);
        Assert.True((await users.CreateAsync(member.Email, member.Password, Roles.Member)).Succeeded);

        using var asViewer = _console.Host.CreateLoopbackClient(viewer);
        using var asMember = _console.Host.CreateLoopbackClient(member);
        var viewerLog = await asViewer.GetStringAsync($"/api/runs/{run.Id}/log");
        var memberLog = await asMember.GetStringAsync($"/api/runs/{run.Id}/log");

        Assert.Contains("Worker failed reading [path]", viewerLog);
        Assert.DoesNotContain("/srv/deepx", viewerLog);
        Assert.DoesNotContain("RunTrainer.cs", viewerLog);
        Assert.DoesNotContain(" at DeepExtension", viewerLog);
        Assert.Contains("/srv/deepx/data/runs/abc", memberLog);
        Assert.Contains("at DeepExtension.Jobs.Runs.TrainCommand.RunAsync()", memberLog);
        Assert.Equal(HttpStatusCode.NotFound, (await asViewer.GetAsync($"/api/runs/{Guid.NewGuid()}/log")).StatusCode);
    }

    [Theory]
    [InlineData("Loaded C:\\models\\qwen\\config.json fine", "Loaded [path] fine")]
    [InlineData("Saved to /var/lib/deepx/adapters/x/", "Saved to [path]")]
    [InlineData("Step 3/10: loss 1.25 at lr 2e-4", "Step 3/10: loss 1.25 at lr 2e-4")]
    public void ForViewer_Message_HidesPathsOnly(string message, string expected) =>
        Assert.Equal(expected, LogRedaction.ForViewer(message));
}
