using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Lora;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Jobs.Runs.Training;
using DeepExtension.Tests.Engine.Lora;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using TorchSharp;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, fault 5: a corrupt latest checkpoint (bad adapter header, half-written trainer state, empty optimizer
/// file) made Resume fail every time with a parser's message, the older checkpoints untried. Checkpoints now carry a
/// manifest of sizes and hashes; resuming takes the newest that verifies and says why the newer ones were skipped.
/// Real checkpoint files of the bundled tiny model; the end-to-end case goes through the console's services, Quartz
/// and the worker process. In the training collection: it loads TorchSharp in this process and nothing runs beside it.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class CheckpointFaultTests
{
    private static readonly AdamWOptions Options = new(1e-3, 0.9, 0.999, 1e-8, 0);

    [Theory]
    [InlineData("bad adapter header", "adapter_model.safetensors does not match its manifest (its SHA-256 differs)")]
    [InlineData("truncated trainer state", "trainer_state.json does not match its manifest (size 20, expected")]
    [InlineData("empty optimizer", "optimizer.safetensors does not match its manifest (size 0, expected")]
    [InlineData("missing adapter config", "adapter_config.json is missing")]
    [InlineData("missing manifest, bad adapter header", "adapter_model.safetensors cannot be read")]
    public void Choose_CorruptLatestCheckpoint_FallsBackToThePreviousAndSaysWhy(string corruption, string reason)
    {
        using var temp = new TempDirectory();
        var store = SaveSteps(temp.Path, 5, 10, 15);
        var latest = Path.Combine(temp.Path, "step-00000015");
        Corrupt(latest, corruption);

        var choice = store.Choose();

        Assert.Equal("step-00000010", Path.GetFileName(choice.Checkpoint));
        var skipped = Assert.Single(choice.Skipped);
        Assert.Equal("step-00000015", skipped.Name);
        Assert.Contains(reason, skipped.Reason);
        AssertLoadsAtStep(choice.Checkpoint!, 10);
    }

    [Fact]
    public void Save_Checkpoint_WritesAManifestOfEveryFileWithSizesAndHashesIncludingPpoExtras()
    {
        using var temp = new TempDirectory();
        var folder = ReferenceModels.Folders[0];
        var store = new CheckpointStore(temp.Path, folder);
        using (var scope = torch.NewDisposeScope())
        using (var lm = ForCausalLM.FromPretrained(folder))
        using (var head = new ValueHead(ModelConfig.Load(folder).HiddenSize, torch.CPU, new torch.Generator(1)))
        {
            var lora = LoraModel.Inject(lm, new LoraConfig(4, 8, 0, LoraConfig.AllProjections), new torch.Generator(1));
            using var optimizer = new AdamWOptimizer([.. lora.TrainableParameters, .. head.Parameters], Options);
            Assert.True(store.Save(lora, optimizer, 7, 1, head.Save));
        }
        var checkpoint = Path.Combine(temp.Path, "step-00000007");

        var manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(Path.Combine(checkpoint, CheckpointStore.ManifestFile)))!;

        Assert.Equal(7, manifest.Step);
        Assert.Equal(1, manifest.Epoch);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json", ValueHead.FileName],
            manifest.Files.Select(f => f.Name));
        Assert.All(manifest.Files, f => Assert.Equal(new FileInfo(Path.Combine(checkpoint, f.Name)).Length, f.Size));
        Assert.All(manifest.Files, f => Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(checkpoint, f.Name)))), f.Sha256));
        Assert.Null(CheckpointStore.Verify(checkpoint));

        // The value head is covered like the adapter: a changed byte is caught.
        var weights = File.ReadAllBytes(Path.Combine(checkpoint, ValueHead.FileName));
        weights[^1] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(checkpoint, ValueHead.FileName), weights);
        Assert.Equal($"{ValueHead.FileName} does not match its manifest (its SHA-256 differs)", CheckpointStore.Verify(checkpoint));
    }

    [Fact]
    public void Choose_FolderInterruptedMidWrite_IsIgnoredAndRemoved()
    {
        using var temp = new TempDirectory();
        var store = SaveSteps(temp.Path, 5, 10);
        // A crash while writing step 15: some files there, no manifest, still under its temporary name.
        var partial = Path.Combine(temp.Path, "step-00000015.partial");
        Directory.CreateDirectory(partial);
        File.Copy(Path.Combine(temp.Path, "step-00000010", PeftAdapter.WeightsFile), Path.Combine(partial, PeftAdapter.WeightsFile));
        File.WriteAllText(Path.Combine(partial, TrainingCheckpoint.OptimizerFile), "");

        var choice = store.Choose();

        Assert.Equal("step-00000010", Path.GetFileName(choice.Checkpoint));
        Assert.Empty(choice.Skipped);
        Assert.Equal(1, choice.PartialsRemoved);
        Assert.False(Directory.Exists(partial));
    }

    [Fact]
    public void Choose_LegacyCheckpointWithoutManifest_IsVerifiedByParsingAndResumes()
    {
        using var temp = new TempDirectory();
        var store = SaveSteps(temp.Path, 5, 10);
        // Written by an earlier version: the same files, no manifest.
        foreach (var step in new[] { "step-00000005", "step-00000010" }) File.Delete(Path.Combine(temp.Path, step, CheckpointStore.ManifestFile));

        var choice = store.Choose();

        Assert.Equal("step-00000010", Path.GetFileName(choice.Checkpoint));
        Assert.Empty(choice.Skipped);
        AssertLoadsAtStep(choice.Checkpoint!, 10);
    }

    [Fact]
    public void Save_StepWhoseCheckpointIsCorrupt_ReplacesIt()
    {
        using var temp = new TempDirectory();
        SaveSteps(temp.Path, 5, 10);
        Corrupt(Path.Combine(temp.Path, "step-00000010"), "empty optimizer");

        // Resumed from step 5, the run reaches step 10 again: its checkpoint is written anew, not left corrupt.
        var store = SaveSteps(temp.Path, 10);

        Assert.Equal("step-00000010", Path.GetFileName(store.Choose().Checkpoint));
        Assert.Empty(store.Choose().Skipped);
    }

    [Fact]
    public void Choose_EveryCheckpointCorrupt_FindsNoneAndListsEach()
    {
        using var temp = new TempDirectory();
        var store = SaveSteps(temp.Path, 5, 10);
        Corrupt(Path.Combine(temp.Path, "step-00000005"), "truncated trainer state");
        Corrupt(Path.Combine(temp.Path, "step-00000010"), "missing adapter config");

        var choice = store.Choose();

        Assert.Null(choice.Checkpoint);
        Assert.Equal(["step-00000010", "step-00000005"], choice.Skipped.Select(s => s.Name));
    }

    [OuterTier("starts the scheduler host, which runs work in worker processes")]
    [Fact]
    public async Task CorruptLatestCheckpoint_ResumeContinuesFromThePreviousWithEachStepOnceAndFailsClearlyWhenNoneIsLeft()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);
        var runId = (await host.Runs.StartAsync(new NewTrainRequest("corrupted", model.Id, version.Id, method.Id, TrainingHost.EndlessSft(saveEvery: 5, maxTokens: 64, loraR: 8), "cpu"))).Value!.Id;
        await host.WaitForAsync(runId, r => r.Step >= 7, TimeSpan.FromMinutes(2));
        await host.Runs.CancelAsync(runId);
        var cancelled = await host.WaitForAsync(runId, r => r.IsFinished, TimeSpan.FromMinutes(1));
        Assert.Equal(WorkStatus.Cancelled, cancelled.Status);
        var files = host.Runs.FilesOf(cancelled);
        var checkpoints = Directory.GetDirectories(files.CheckpointsDirectory).Order(StringComparer.Ordinal).ToList();
        var (previous, latest) = (checkpoints[^2], checkpoints[^1]);
        var previousStep = long.Parse(Path.GetFileName(previous)["step-".Length..]);
        Corrupt(latest, "bad adapter header");

        Assert.True((await host.Runs.ResumeAsync(runId)).Succeeded);
        // The row reads Running (with the step of the first attempt) before the worker has resumed: wait for the worker's own lines.
        var resumedLine = $"Resuming from {Path.GetFileName(previous)} (step {previousStep} of";
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!File.ReadAllLines(files.LogPath).Any(l => l.Contains(resumedLine)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the resumed worker did not log where it resumed from within 2 minutes");
            await Task.Delay(200);
        }
        await host.WaitForAsync(runId, r => r.Attempts == 2 && r.Status == WorkStatus.Running && MetricsFile.ReadAll(files).Count(p => p["loss"] is not null) > previousStep + 3, TimeSpan.FromMinutes(2));
        var log = File.ReadAllLines(files.LogPath);
        Assert.Contains(log, l => l.Contains($"Checkpoint {Path.GetFileName(latest)} skipped: adapter_model.safetensors does not match its manifest"));
        Assert.Contains(log, l => l.Contains($"Resuming from {Path.GetFileName(previous)} (step {previousStep} of"));
        await host.Runs.CancelAsync(runId);
        Assert.Equal(WorkStatus.Cancelled, (await host.WaitForAsync(runId, r => r.IsFinished, TimeSpan.FromMinutes(1))).Status);
        OwnershipFaultTests.AssertEachStepOnceInOrder(files);

        // With no checkpoint left that verifies, the run fails saying so, not with a parser's message.
        foreach (var checkpoint in Directory.GetDirectories(files.CheckpointsDirectory)) Corrupt(checkpoint, "empty optimizer");
        Assert.True((await host.Runs.ResumeAsync(runId)).Succeeded);
        var failed = await host.WaitForAsync(runId, r => r.Attempts == 3 && r.IsFinished, TimeSpan.FromMinutes(2));
        Assert.Equal(WorkStatus.Failed, failed.Status);
        Assert.Contains("No checkpoint of this run can be resumed from", failed.FailureReason);
    }

    /// <summary>Real checkpoints of the tiny reference model at <paramref name="steps"/> in <paramref name="directory"/>.</summary>
    private static CheckpointStore SaveSteps(string directory, params long[] steps)
    {
        var folder = ReferenceModels.Folders[0];
        var store = new CheckpointStore(directory, folder);
        using var scope = torch.NewDisposeScope();
        using var lm = ForCausalLM.FromPretrained(folder);
        var lora = LoraModel.Inject(lm, new LoraConfig(4, 8, 0, LoraConfig.AllProjections), new torch.Generator(1));
        using var optimizer = new AdamWOptimizer(lora.TrainableParameters, Options);
        foreach (var step in steps) Assert.True(store.Save(lora, optimizer, step, 0));
        return store;
    }

    private static void Corrupt(string checkpoint, string corruption)
    {
        string PathOf(string name) => Path.Combine(checkpoint, name);
        switch (corruption)
        {
            case "bad adapter header":
                // Same size, the header's length prefix overwritten: what a torn or bit-flipped write leaves.
                var bytes = File.ReadAllBytes(PathOf(PeftAdapter.WeightsFile));
                Array.Fill(bytes, (byte)0xFF, 0, 8);
                File.WriteAllBytes(PathOf(PeftAdapter.WeightsFile), bytes);
                break;
            case "truncated trainer state":
                File.WriteAllText(PathOf(TrainingCheckpoint.StateFile), File.ReadAllText(PathOf(TrainingCheckpoint.StateFile))[..20]);
                break;
            case "empty optimizer":
                File.WriteAllText(PathOf(TrainingCheckpoint.OptimizerFile), "");
                break;
            case "missing adapter config":
                File.Delete(PathOf(PeftAdapter.ConfigFile));
                break;
            case "missing manifest, bad adapter header":
                File.Delete(PathOf(CheckpointStore.ManifestFile));
                Corrupt(checkpoint, "bad adapter header");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(corruption), corruption, null);
        }
    }

    private static void AssertLoadsAtStep(string checkpoint, long step)
    {
        using var scope = torch.NewDisposeScope();
        using var model = ForCausalLM.FromPretrained(ReferenceModels.Folders[0]);
        var (_, optimizer, state) = CheckpointStore.Load(checkpoint, model, Options);
        using (optimizer) Assert.Equal(step, state.GlobalStep);
    }
}
