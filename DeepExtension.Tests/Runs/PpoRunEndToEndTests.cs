using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Runs;

/// <summary>
/// PPO on the real path on CPU (the service, the Quartz job, the worker process): prompts with reference answers,
/// scored by a reward function, TRL's metrics, the validation reward, checkpoints with the value head, the adapter.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class PpoRunEndToEndTests
{
    private const int MaxCompletionTokens = 2;

    [Fact]
    public async Task PpoRun_PromptsWithAnswers_LogsTrlMetricsAndValidationRewardCheckpointsTheValueHeadAndRegistersTheAdapter()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var relative = env.AddModelFolder("tiny-qwen2");
        var prompts = Enumerable.Range(0, 24).Select(i => $"What is {i} plus one?").ToList();
        var created = await env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "tiny-qwen2", relative, null));
        Assert.True(created.Succeeded, created.AllErrors);
        var jsonl = string.Join("\n", prompts.Select((p, i) => new JsonObject { ["prompt"] = p, ["answer"] = $"{i + 1}" }.ToJsonString()));
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(jsonl));
        var upload = await env.Datasets.CreateAsync("sums", null, new DatasetUpload(content, "sums.jsonl", ValidationPercent: 25));
        Assert.True(upload.Succeeded, upload.AllErrors);
        var method = (await env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Ppo);
        await using var host = await TrainingHost.StartAsync(env);
        var parameters = new JsonObject
        {
            ["num_epochs"] = 3,
            ["batch_size"] = 4,
            ["gradient_accumulation_steps"] = 2,
            ["learning_rate"] = 1e-3,
            ["warmup_ratio"] = 0.0,
            ["lr_scheduler"] = "constant",
            ["max_tokens"] = 64,
            ["lora_r"] = 8,
            ["lora_alpha"] = 16,
            ["lora_dropout"] = 0.0,
            ["save_every"] = 3,
            ["save_unit"] = "steps",
            ["max_completion_tokens"] = MaxCompletionTokens,
            ["temperature"] = 1.0,
            ["reward_functions"] = new JsonArray(GrpoRewardFunctions.NumericMatch, GrpoRewardFunctions.ContainsAnswer),
            ["reward_weights"] = "1, 0.5",
        };

        var started = await host.Runs.StartAsync(new NewTrainRequest("rewarded", created.Value!.Id, upload.Value!.Version.Id, method.Id, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var done = await host.WaitForAsync(started.Value!.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        var files = host.Runs.FilesOf(done);
        var logLines = File.ReadAllLines(files.LogPath);
        var log = string.Join("\n", logLines);
        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.FailureReason}\n{log}");
        var all = MetricsFile.ReadAll(files);
        var points = all.Where(p => p["loss"] is not null).ToList();
        var steps = done.TotalSteps;
        Assert.Equal(steps, points.Count);
        Assert.True(steps >= 6, $"{steps} steps"); // 8 rollouts per step, 3 epochs
        string[] keys = ["loss", "grad_norm", "objective/kl", "objective/entropy", "objective/rlhf_reward", "objective/scores", "policy/clipfrac",
            "policy/approxkl", "val/vf_loss", "val/clipfrac", "loss/policy_avg", "loss/value_avg"];
        Assert.All(points, p => Assert.All(keys, k => Assert.True(p[k] is { } v && double.IsFinite(v), $"step {p.Step}: {k} = {p[k]}")));
        // The first rollout comes from the base itself (LoRA B = 0): the KL to the reference is exactly 0.
        Assert.Equal(0, points[0]["objective/kl"]!.Value, 5);
        // Every step's score is a mean of its 8 completions' weighted rewards (1 × numeric_match + 0.5 × contains_answer); the validation split is scored at the end of
        // each epoch. (That PPO raises the reward is shown in-process on a task this random base can learn:
        // PpoLearningTests.)
        Assert.All(points, p => Assert.InRange(p["objective/scores"]!.Value, 0, 1.5));
        var evals = all.Where(p => p["eval_reward"] is not null).ToList();
        Assert.Equal(3, evals.Count);
        Assert.All(evals, p => Assert.InRange(p["eval_reward"]!.Value, 0, 1.5));
        Assert.Contains(logLines, l => l.Contains("Step 1 samples") && l.Contains("score"));
        // Checkpoints carry the value head (and its AdamW moments) beside the adapter.
        var checkpoint = Directory.GetDirectories(files.CheckpointsDirectory, "step-*").Order(StringComparer.Ordinal).Last();
        Assert.True(File.Exists(Path.Combine(checkpoint, ValueHead.FileName)));
        using (var optimizerState = SafetensorsFile.Open(Path.Combine(checkpoint, TrainingCheckpoint.OptimizerFile)))
        {
            Assert.True(optimizerState.Contains("exp_avg." + ValueHead.WeightName));
        }
        Assert.Contains($"Training finished after {steps} steps", log);
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(done.Id));
    }
}
