using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Work;

public class WorkLogTests
{
    [Fact]
    public async Task DeploymentLog_OnlyTheOldTrainLogName_IsReadThenNewLinesGoToDeployLog()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var deployments = env.CreateDeploymentService(new RecordingScheduler());
        var id = Guid.CreateVersion7();
        var folder = deployments.FolderOf(id);
        Directory.CreateDirectory(folder);
        // What an earlier version wrote for a deployment.
        var old = new LogLine(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero), RunLogLevel.Info, "Uploading model.safetensors");
        File.WriteAllText(Path.Combine(folder, "train.log.jsonl"), old.ToJsonLine() + "\n");

        Assert.Equal(["Uploading model.safetensors"], deployments.ReadLog(id).Select(l => l.Message));

        deployments.LogOf(id).Append(RunLogLevel.Error, "Ollama could not create the model");

        Assert.Equal(Path.Combine(folder, "deploy.log.jsonl"), deployments.LogOf(id).Path);
        Assert.True(File.Exists(Path.Combine(folder, "deploy.log.jsonl")));
        Assert.Equal(["Uploading model.safetensors", "Ollama could not create the model"], deployments.ReadLog(id).Select(l => l.Message));
    }

    [Fact]
    public void WorkLog_EachKind_IsNamedForWhatItIs()
    {
        var folder = Path.Combine(Path.GetTempPath(), "deepx-worklog");
        Assert.Equal("train.log.jsonl", Path.GetFileName(WorkLog.In(folder, WorkKind.Train).Path));
        Assert.Null(WorkLog.In(folder, WorkKind.Train).LegacyPath);
        Assert.Equal("save.log.jsonl", Path.GetFileName(WorkLog.In(folder, WorkKind.Save).Path));
        Assert.Equal("deploy.log.jsonl", Path.GetFileName(WorkLog.In(folder, WorkKind.Deploy).Path));
        Assert.Equal("train.log.jsonl", Path.GetFileName(WorkLog.In(folder, WorkKind.Deploy).LegacyPath));
        Assert.Equal(new RunFiles(folder).LogPath, WorkLog.In(folder, WorkKind.Train).Path);
    }

    [Fact]
    public void WorkLog_NeitherFileExists_ReadsNothing()
    {
        var folder = Path.Combine(Path.GetTempPath(), "deepx-worklog-" + Guid.NewGuid().ToString("N"));
        Assert.Empty(WorkLog.In(folder, WorkKind.Save).ReadAll());
    }
}
