using System.Text.Json.Nodes;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Runs;

/// <summary>
/// The real path on CPU: dataset upload, the form's service, the Quartz job, the worker process, metrics and
/// logs, the customized model.
/// </summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class TrainingRunEndToEndTests
{
    private static JsonObject FastSft(int epochs = 8) => new()
    {
        ["num_epochs"] = epochs,
        ["batch_size"] = 4,
        ["learning_rate"] = 5e-3,
        ["warmup_ratio"] = 0.0,
        ["lr_scheduler"] = "constant",
        ["max_tokens"] = 64,
        ["lora_r"] = 8,
        ["lora_alpha"] = 16,
        ["lora_dropout"] = 0.0,
        ["save_every"] = 5,
        ["save_unit"] = "steps",
    };

    [Fact]
    public async Task SftRun_StartedThroughTheService_TrainsInAWorkerAndRegistersTheCustomizedModel()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);

        var started = await host.Runs.StartAsync(new NewTrainRequest("plus-one", model.Id, version.Id, method.Id, FastSft(), "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var run = await host.WaitForAsync(started.Value!.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        Assert.True(run.Status == WorkStatus.Succeeded, $"{run.Status}: {run.FailureReason}\n{File.ReadAllText(host.Runs.FilesOf(run).LogPath)}");
        Assert.Equal(40, run.TotalSteps);
        Assert.Equal(40, run.Step);
        Assert.Equal(1, run.Attempts);
        var files = host.Runs.FilesOf(run);
        var losses = MetricsFile.ReadAll(files).Select(p => p["loss"]).OfType<double>().ToList();
        Assert.Equal(40, losses.Count);
        // The random reference base guesses near-uniformly (ln 512 = 6.24) and its logits stay within about ±1.5, so
        // no adapter takes the loss near 0 here (the engine's memorisation test shows learning to < 0.1); a working
        // loop still pulls it down clearly within 40 steps, a broken one does not.
        Assert.True(losses.TakeLast(5).Average() < losses.Take(5).Average() - 0.4, $"losses: {string.Join(" ", losses.Select(l => l.ToString("0.00")))}");
        Assert.Contains(File.ReadAllLines(files.LogPath), l => l.Contains("Training finished after 40 steps"));

        var customized = await host.CustomizedModels.FindByRunAsync(run.Id);
        Assert.NotNull(customized);
        Assert.Equal(CustomizedModel.NameFor("tiny-qwen2", "plus-one", run.FinishedAtUtc!.Value, run.Id), customized.Name);
        Assert.Matches(@"^tiny-qwen2_plus-one_\d{8}_[0-9a-f]{4}$", customized.Name);
        Assert.StartsWith(run.Id.ToString("N")[..4], customized.Name[^4..]);
        var adapter = Path.Combine(env.DataRoot, customized.AdapterPath);
        Assert.True(File.Exists(Path.Combine(adapter, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(adapter, "adapter_model.safetensors")));
        var card = JsonNode.Parse(customized.CardJson)!;
        Assert.Equal(version.ContentSha256, card["dataset"]!["sha256"]!.GetValue<string>());
        Assert.Equal(5e-3, card["parameters"]!["learning_rate"]!.GetValue<double>());
    }

    [Fact]
    public async Task DpoRun_PreferencePairs_RaisesTheChosenOverTheRejectedAndRegistersTheAdapter()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyPreferencePairs(), TrainingAlgorithm.Dpo);
        await using var host = await TrainingHost.StartAsync(env);
        var parameters = FastSft(epochs: 3);
        parameters["dpo_beta"] = 0.5;

        var run = (await host.Runs.StartAsync(new NewTrainRequest("prefer", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;
        var done = await host.WaitForAsync(run.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.FailureReason}\n{File.ReadAllText(host.Runs.FilesOf(done).LogPath)}");
        var points = MetricsFile.ReadAll(host.Runs.FilesOf(done)).Where(p => p["loss"] is not null).ToList();
        Assert.Equal(15, points.Count);
        // At step 1 the policy equals the reference: the loss is exactly ln 2 and the margin zero.
        Assert.Equal(Math.Log(2), points[0]["loss"]!.Value, 4);
        Assert.Equal(0, points[0]["rewards/margins"]!.Value, 4);
        Assert.True(points.TakeLast(3).Average(p => p["rewards/margins"]!.Value) > 0.1, string.Join(" ", points.Select(p => p["rewards/margins"])));
        Assert.True(points.TakeLast(3).Average(p => p["loss"]!.Value) < Math.Log(2) - 0.05);
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(run.Id));
    }

    [Fact]
    public async Task GrpoRun_PromptsWithAnswers_LogsRewardKlAndLengthAndRegistersTheAdapter()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.EightPromptsWithAnswers(), TrainingAlgorithm.Grpo);
        await using var host = await TrainingHost.StartAsync(env);
        var parameters = FastSft(epochs: 2);
        parameters["batch_size"] = 2;
        parameters["num_generations"] = 4;
        parameters["max_completion_tokens"] = 8;
        parameters["learning_rate"] = 1e-3;
        parameters["reward_functions"] = new JsonArray("numeric_match", "contains_answer");

        var run = (await host.Runs.StartAsync(new NewTrainRequest("reinforced", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;
        var done = await host.WaitForAsync(run.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        var files = host.Runs.FilesOf(done);
        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.FailureReason}\n{File.ReadAllText(files.LogPath)}");
        var points = MetricsFile.ReadAll(files).Where(p => p["loss"] is not null).ToList();
        Assert.Equal(8, points.Count); // 8 prompts / 2 per step × 2 epochs
        string[] keys = ["loss", "learning_rate", "grad_norm", "tokens_per_second", "reward", "reward_std", "kl", "completion_length",
            "rewards/numeric_match", "rewards/contains_answer"];
        Assert.All(points, p => Assert.All(keys, k => Assert.True(p[k] is { } v && double.IsFinite(v), $"step {p.Step}: {k} = {p[k]}")));
        Assert.All(points, p => Assert.InRange(p["reward_std"]!.Value, 0, 2));
        Assert.All(points, p => Assert.InRange(p["completion_length"]!.Value, 1, 8));
        // The first step samples from the reference itself: the KL is exactly 0 before the first update.
        Assert.Equal(0, points[0]["kl"]!.Value, 6);
        var log = File.ReadAllLines(files.LogPath);
        Assert.Contains(log, l => l.Contains("Step 1 samples") && l.Contains("reward"));
        Assert.Contains(log, l => l.Contains("Training finished after 8 steps"));
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(run.Id));
    }

    [Fact]
    public async Task SftRun_WithValidationSplit_RecordsEvaluationLossEachEpoch()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft, validationPercent: 20);
        await using var host = await TrainingHost.StartAsync(env);

        var run = (await host.Runs.StartAsync(new NewTrainRequest("evaluated", model.Id, version.Id, method.Id, FastSft(epochs: 3), "cpu"))).Value!;
        var done = await host.WaitForAsync(run.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        Assert.Equal(WorkStatus.Succeeded, done.Status);
        var evals = MetricsFile.ReadAll(host.Runs.FilesOf(done)).Where(p => p["eval_loss"] is not null).ToList();
        Assert.Equal(3, evals.Count);
        Assert.Equal(done.TotalSteps, evals[^1].Step);
        Assert.Equal(evals.Min(p => p["eval_loss"]!.Value), done.BestEvalLoss!.Value, 5);
    }

    [Fact]
    public async Task Cancel_RunningRun_EndsCancelledWithACheckpoint()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);
        var run = (await host.Runs.StartAsync(new NewTrainRequest("to-cancel", model.Id, version.Id, method.Id, EndlessSft(), "cpu"))).Value!;
        await host.WaitForAsync(run.Id, r => r.Step >= 3, TimeSpan.FromMinutes(2));

        Assert.True((await host.Runs.CancelAsync(run.Id)).Succeeded);

        var ended = await host.WaitForAsync(run.Id, r => r.IsFinished, TimeSpan.FromMinutes(1));
        Assert.Equal(WorkStatus.Cancelled, ended.Status);
        Assert.NotEmpty(Directory.GetDirectories(host.Runs.FilesOf(ended).CheckpointsDirectory));
        Assert.Null(await host.CustomizedModels.FindByRunAsync(run.Id));
    }

    /// <summary>Long enough never to finish during a test (20,000 steps): these tests stop the run themselves.</summary>
    private static JsonObject EndlessSft() => TrainingHost.EndlessSft(saveEvery: 5, maxTokens: 64, loraR: 8);

    [Fact]
    public async Task KilledWorker_RunResumesFromItsCheckpointAndContinuesTheCurve()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);
        var runId = (await host.Runs.StartAsync(new NewTrainRequest("resumed", model.Id, version.Id, method.Id, EndlessSft(), "cpu"))).Value!.Id;
        var killedAt = (await host.WaitForAsync(runId, r => r.Step >= 7, TimeSpan.FromMinutes(2))).Step;

        KillWorkerOf(runId);
        var failed = await host.WaitForAsync(runId, r => r.IsFinished, TimeSpan.FromMinutes(1));
        Assert.Equal(WorkStatus.Failed, failed.Status);
        Assert.Contains("killed", failed.FailureReason);

        Assert.True((await host.Runs.ResumeAsync(runId)).Succeeded);
        await host.WaitForAsync(runId, r => r.Attempts == 2 && r.Status == WorkStatus.Running && r.Step > killedAt + 5, TimeSpan.FromMinutes(2));
        await host.Runs.CancelAsync(runId);
        var stopped = await host.WaitForAsync(runId, r => r.IsFinished, TimeSpan.FromMinutes(1));

        Assert.Equal(WorkStatus.Cancelled, stopped.Status);
        AssertContinuousCurve(host.Runs.FilesOf(stopped));
        Assert.Contains(File.ReadAllLines(host.Runs.FilesOf(stopped).LogPath), l => l.Contains("Resuming from step-"));
    }

    [Fact]
    public async Task ConsoleRestart_RunningRunCheckpointsOnShutdownAndResumesOnTheNextStart()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        Guid runId;
        long stoppedAt;
        await using (var first = await TrainingHost.StartAsync(env))
        {
            runId = (await first.Runs.StartAsync(new NewTrainRequest("restarted", model.Id, version.Id, method.Id, EndlessSft(), "cpu"))).Value!.Id;
            await first.WaitForAsync(runId, r => r.Step >= 4, TimeSpan.FromMinutes(2));
            await first.StopAsync();
            var stopped = (await first.Runs.GetAsync(runId))!;
            Assert.True(stopped.Status == WorkStatus.Running, $"{stopped.Status} at step {stopped.Step}\n{File.ReadAllText(first.Runs.FilesOf(stopped).LogPath)}");
            Assert.Contains(File.ReadAllLines(first.Runs.FilesOf(stopped).LogPath), l => l.Contains("Interrupted at step"));
            stoppedAt = stopped.Step;
        }

        await using var second = await TrainingHost.StartAsync(env);
        await second.WaitForAsync(runId, r => r.Attempts == 2 && r.Step > stoppedAt + 5, TimeSpan.FromMinutes(2));
        await second.Runs.CancelAsync(runId);
        var done = await second.WaitForAsync(runId, r => r.IsFinished, TimeSpan.FromMinutes(1));

        Assert.Equal(WorkStatus.Cancelled, done.Status);
        AssertContinuousCurve(second.Runs.FilesOf(done));
        Assert.Contains(File.ReadAllLines(second.Runs.FilesOf(done).LogPath), l => l.Contains("Resuming from step-"));
    }

    [Fact]
    public async Task TwoRunsOnOneDevice_SecondWaitsQueuedUntilTheFirstEnds()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);
        var first = (await host.Runs.StartAsync(new NewTrainRequest("first", model.Id, version.Id, method.Id, EndlessSft(), "cpu"))).Value!.Id;
        await host.WaitForAsync(first, r => r.Step >= 3, TimeSpan.FromMinutes(2));
        var second = (await host.Runs.StartAsync(new NewTrainRequest("second", model.Id, version.Id, method.Id, EndlessSft(), "cpu"))).Value!.Id;

        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(WorkStatus.Queued, (await host.Runs.GetAsync(second))!.Status);
        Assert.Equal(WorkStatus.Running, (await host.Runs.GetAsync(first))!.Status);

        await host.Runs.CancelAsync(first);
        await host.WaitForAsync(second, r => r.Status == WorkStatus.Running && r.Step >= 1, TimeSpan.FromMinutes(2));
        Assert.Equal(WorkStatus.Cancelled, (await host.Runs.GetAsync(first))!.Status);
        await host.Runs.CancelAsync(second);
        Assert.Equal(WorkStatus.Cancelled, (await host.WaitForAsync(second, r => r.IsFinished, TimeSpan.FromMinutes(1))).Status);
    }

    /// <summary>After resuming, the loss curve has every step exactly once: no gap, no repeat of what was redone.</summary>
    private static void AssertContinuousCurve(RunFiles files)
    {
        var steps = MetricsFile.ReadAll(files).Where(p => p["loss"] is not null).Select(p => p.Step).ToList();
        Assert.NotEmpty(steps);
        Assert.Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i), steps);
    }

    private static void KillWorkerOf(Guid runId)
    {
        var worker = System.Diagnostics.Process.GetProcesses()
            .Where(p => p.ProcessName.StartsWith("DeepExtension.J", StringComparison.Ordinal))
            .Single(p => File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(runId.ToString()));
        worker.Kill();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingCollection
{
    public const string Name = "training";
}
