using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Engine.Generation;
using DeepExtension.Jobs.Engine.Model;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;
using DeepExtension.Jobs.Runs.Training;
using DeepExtension.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Runs;

/// <summary>
/// PPO on the real path on CPU (the service, the Quartz job, the worker process) on a toy task a tiny model can learn:
/// the reward is 1 when a short completion contains one given word.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class PpoRunEndToEndTests(ITestOutputHelper output)
{
    private const int MaxCompletionTokens = 2;

    [Fact]
    public async Task PpoRun_RewardForOneWord_RaisesTheRewardLogsTrlMetricsAndRegistersTheAdapter()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var relative = env.AddModelFolder("tiny-qwen2");
        var directory = Path.Combine(env.Directories.ModelsRoot, relative);
        var prompts = Enumerable.Range(0, 16).Select(i => $"Name a colour, please ({i}).").ToList();
        var (word, baseReward) = SharpenAndPickTheWord(directory, prompts);
        output.WriteLine($"target word \"{word}\"; the base's greedy reward {baseReward}");
        Assert.Equal(0, baseReward);

        var created = await env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "tiny-qwen2", relative, null));
        Assert.True(created.Succeeded, created.AllErrors);
        var jsonl = string.Join("\n", prompts.Select(p => new JsonObject { ["prompt"] = p, ["answer"] = word }.ToJsonString()));
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(jsonl));
        var upload = await env.Datasets.CreateAsync("colours", null, new DatasetUpload(content, "colours.jsonl", ValidationPercent: 25));
        Assert.True(upload.Succeeded, upload.AllErrors);
        var method = (await env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Ppo);
        await using var host = await TrainingHost.StartAsync(env);
        var parameters = new JsonObject
        {
            ["num_epochs"] = 4,
            ["batch_size"] = 4,
            ["learning_rate"] = 2e-3,
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
            ["reward_functions"] = new JsonArray(GrpoRewardFunctions.ContainsAnswer),
        };

        var started = await host.Runs.StartAsync(new NewTrainRequest("one-word", created.Value!.Id, upload.Value!.Version.Id, method.Id, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var done = await host.WaitForAsync(started.Value!.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));

        var files = host.Runs.FilesOf(done);
        var log = File.ReadAllText(files.LogPath);
        output.WriteLine(log);
        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.FailureReason}\n{log}");
        var all = MetricsFile.ReadAll(files);
        var points = all.Where(p => p["loss"] is not null).ToList();
        Assert.Equal(12, points.Count); // 12 training prompts / 4 per step × 4 epochs
        string[] keys = ["loss", "grad_norm", "objective/kl", "objective/entropy", "objective/rlhf_reward", "objective/scores", "policy/clipfrac",
            "policy/approxkl", "val/vf_loss", "val/clipfrac", "loss/policy_avg", "loss/value_avg"];
        Assert.All(points, p => Assert.All(keys, k => Assert.True(p[k] is { } v && double.IsFinite(v), $"step {p.Step}: {k} = {p[k]}")));
        foreach (var p in points) output.WriteLine($"step {p.Step}: score {p["objective/scores"]:0.00} kl {p["objective/kl"]:0.000} clipfrac {p["policy/clipfrac"]:0.00}");
        // The first rollout comes from the base itself (LoRA B = 0): the KL to the reference is exactly 0.
        Assert.Equal(0, points[0]["objective/kl"]!.Value, 5);
        // Learning: the sampled completions' reward rises, and greedy answers on the validation split find the word
        // that the base's greedy answers never contain.
        var first = points.Take(3).Average(p => p["objective/scores"]!.Value);
        var last = points.TakeLast(3).Average(p => p["objective/scores"]!.Value);
        Assert.True(last > first + 0.3, $"mean reward {first:0.00} → {last:0.00}");
        var evals = all.Where(p => p["eval_reward"] is not null).ToList();
        Assert.Equal(4, evals.Count); // at the end of each epoch
        Assert.True(evals[^1]["eval_reward"]!.Value >= 0.75, string.Join(" ", evals.Select(p => p["eval_reward"])));

        // Checkpoints carry the value head (and its AdamW moments) beside the adapter.
        var checkpoint = Directory.GetDirectories(files.CheckpointsDirectory, "step-*").Order(StringComparer.Ordinal).Last();
        Assert.True(File.Exists(Path.Combine(checkpoint, ValueHead.FileName)));
        using (var optimizerState = SafetensorsFile.Open(Path.Combine(checkpoint, TrainingCheckpoint.OptimizerFile)))
        {
            Assert.True(optimizerState.Contains("exp_avg." + ValueHead.WeightName));
        }
        Assert.Contains("Training finished after 12 steps", log);
        Assert.NotNull(await host.CustomizedModels.FindByRunAsync(done.Id));
    }

    /// <summary>
    /// Sharpens the random base's frozen final norm (×8, as the GRPO learning test does) so that some first tokens are
    /// likely enough to be sampled, writes it back, and picks the word: the text of the token with the highest mean
    /// first-token probability over the prompts that no greedy answer of the base contains. Returns it and the base's
    /// greedy mean reward (0 by that choice).
    /// </summary>
    private static (string Word, double BaseReward) SharpenAndPickTheWord(string directory, IReadOnlyList<string> prompts)
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = HfTokenizer.Load(directory);
        var template = ChatTemplate.Load(directory);
        var ids = prompts.Select(p => (IReadOnlyList<long>)tokenizer.Encode(template.Render([new ChatMessage("user", p)], addGenerationPrompt: true))
            .Select(i => (long)i).ToList()).ToList();
        using var lm = ForCausalLM.FromPretrained(directory);
        using (torch.no_grad()) lm.model.norm.weight!.mul_(8.0);
        var path = Path.Combine(directory, "model.safetensors");
        SafetensorsWriter.Save(path + ".tmp", lm.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal));
        File.Move(path + ".tmp", path, overwrite: true);

        var stop = StopTokenIds.Of(directory, tokenizer);
        var greedy = BatchGenerator.Generate(lm, ids, new GenerationOptions { MaxNewTokens = MaxCompletionTokens, StopTokenIds = stop }, tokenizer);
        Tensor mean;
        using (torch.no_grad())
        {
            mean = torch.stack(ids.Select(p => lm.forward(torch.tensor(p.ToArray(), ScalarType.Int64).unsqueeze(0))[0, -1].softmax(-1))).mean([0]);
        }
        var order = mean.argsort(descending: true).data<long>().ToArray();
        foreach (var token in order)
        {
            if (stop.Contains(token)) continue;
            var word = GrpoRewards.Normalize(tokenizer.Decode([(int)token], skipSpecialTokens: true));
            if (word.Length == 0 || !word.All(char.IsLetterOrDigit)) continue;
            if (greedy.Any(g => GrpoRewards.Normalize(g.Text).Contains(word, StringComparison.Ordinal))) continue;
            var baseReward = greedy.Average(g => GrpoRewards.Score(GrpoRewards.ContainsAnswer, g.Text, word));
            return (word, baseReward);
        }
        throw new InvalidOperationException("no token fits");
    }
}
