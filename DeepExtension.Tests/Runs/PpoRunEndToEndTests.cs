using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Tests.Support;
using TorchSharp;

namespace DeepExtension.Tests.Runs;

/// <summary>
/// PPO on the real path on CPU (the service, the Quartz job, the worker process): prompts with reference answers,
/// scored by a reward function, TRL's metrics, the validation reward, checkpoints with the value head, the adapter; and
/// that it learns: a toy task's mean reward rises.
/// </summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class PpoRunEndToEndTests(Xunit.Abstractions.ITestOutputHelper output)
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
        // each epoch. (That PPO raises the reward is shown on a task this random base can learn: the next test.)
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

    /// <summary>The toy task's answer: one token of the tiny tokenizer (" be"), scored by exact match.</summary>
    private const string ToyAnswer = "be";

    [Fact]
    public async Task PpoRun_ToyTaskTheTinyModelCanLearn_RaisesTheMeanRewardAndRegistersACustomizedModel()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var relative = env.AddModelFolder("tiny-qwen2", "hf/tiny-qwen2-be");
        SaySomeBeMore(Path.Combine(env.Directories.ModelsRoot, relative));
        var created = await env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2-be", "tiny-qwen2-be", relative, null));
        Assert.True(created.Succeeded, created.AllErrors);
        var jsonl = string.Join("\n", Enumerable.Range(0, 16).Select(i => new JsonObject { ["prompt"] = $"Say a word ({i}).", ["answer"] = ToyAnswer }.ToJsonString()));
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(jsonl));
        var upload = await env.Datasets.CreateAsync("one word", null, new DatasetUpload(content, "word.jsonl", ValidationPercent: 0));
        Assert.True(upload.Succeeded, upload.AllErrors);
        var method = (await env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Ppo);
        await using var host = await TrainingHost.StartAsync(env);
        var parameters = new JsonObject
        {
            ["num_epochs"] = 6,
            ["batch_size"] = 8,
            ["gradient_accumulation_steps"] = 2,
            ["learning_rate"] = 1e-3,
            ["warmup_ratio"] = 0.0,
            ["lr_scheduler"] = "constant",
            ["max_tokens"] = 32,
            ["lora_r"] = 8,
            ["lora_alpha"] = 16,
            ["lora_dropout"] = 0.0,
            ["seed"] = 7,
            ["save_every"] = 3,
            ["save_unit"] = "epochs",
            ["max_completion_tokens"] = 1,
            // The random base's logits are nearly flat: sampling at 0.25 (logits × 4) makes it peaky enough that a
            // few updates show.
            ["temperature"] = 0.25,
            ["reward_functions"] = new JsonArray(GrpoRewardFunctions.ExactMatch),
        };

        var started = await host.Runs.StartAsync(new NewTrainRequest("toy", created.Value!.Id, upload.Value!.Version.Id, method.Id, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var done = await host.WaitForAsync(started.Value!.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        var files = host.Runs.FilesOf(done);
        var log = File.ReadAllText(files.LogPath);
        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.FailureReason}\n{log}");
        var rewards = MetricsFile.ReadAll(files).Where(p => p["objective/rlhf_reward"] is not null).Select(p => p["objective/rlhf_reward"]!.Value).ToList();
        Assert.Equal(6, rewards.Count); // 16 prompts, 16 rollouts per step, 6 epochs
        // Mean reward (score minus the KL penalty) over the first and the last two steps. The first step's rollouts
        // come from the base, which says " be" about one time in ten at this temperature; a run that does not learn
        // stays there, give or take sampling noise. Measured (seeded, CPU): 0 0.25 0.42 0.64 0.79 0.89; the same run
        // with learning_rate 1e-9 gives 0 0.25 0.06 0 0.12 0.13 and fails both bounds.
        output.WriteLine($"objective/rlhf_reward per step: {string.Join(" ", rewards.Select(r => r.ToString("0.###")))}");
        var first = rewards.Take(2).Average();
        var last = rewards.TakeLast(2).Average();
        Assert.True(last > first + 0.3 && last > 0.6, $"mean reward {first:0.###} over the first 2 steps, {last:0.###} over the last 2: {string.Join(" ", rewards.Select(r => r.ToString("0.##")))}\n{log}");
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(done.Id));
    }

    /// <summary>
    /// Makes <paramref name="modelDirectory"/>'s base say the toy answer more often: its embedding row (tied, so also its
    /// output row) doubled gives it about 0.1 of the probability at temperature 0.25 (measured), where the untouched
    /// random base gives it about 0.01 — often enough that a batch of rollouts holds a rewarded one.
    /// </summary>
    private static void SaySomeBeMore(string modelDirectory)
    {
        var id = HfTokenizer.Load(modelDirectory).Encode(" " + ToyAnswer).Single();
        var path = Path.Combine(modelDirectory, "model.safetensors");
        using var scope = torch.NewDisposeScope();
        List<KeyValuePair<string, torch.Tensor>> tensors;
        using (var file = SafetensorsFile.Open(path))
        {
            tensors = file.Names.Select(n => KeyValuePair.Create(n, file.Load(n))).ToList();
        }
        using (torch.no_grad()) tensors.Single(t => t.Key == "model.embed_tokens.weight").Value[id].mul_(2.0);
        SafetensorsWriter.Save(path, tensors);
    }
}
