using System.Text.Json.Nodes;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Runs;

public class TrainingRunServiceTests
{
    /// <summary>The tiny reference models have a 256-token context; the default max tokens (1024) does not fit.</summary>
    private static JsonObject Fits() => new() { ["max_tokens"] = 128 };

    private static TrainingRunService Service(TestEnvironment env, RecordingRunScheduler scheduler) =>
        new(env.DbFactory, env.Directories, scheduler, TimeProvider.System);

    [Fact]
    public async Task Start_ValidRequest_RecordsEveryParameterWritesRunJsonAndQueues()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var scheduler = new RecordingRunScheduler();

        var result = await Service(env, scheduler).StartAsync(new NewTrainRequest("first", model.Id, version.Id, method.Id, new JsonObject { ["lora_r"] = 4, ["max_tokens"] = 128 }));

        Assert.True(result.Succeeded, result.AllErrors);
        var run = result.Value!;
        Assert.Equal([run.Id], scheduler.Queued);
        Assert.Equal(WorkStatus.Queued, run.Status);
        Assert.Equal(4, run.Parameters["lora_r"]!.GetValue<int>());
        Assert.Equal(method.ResolvedDefaults().Count, run.Parameters.Count);
        Assert.Equal("tiny-qwen2", run.BaseModelTechnicalName);
        Assert.True(File.Exists(Service(env, scheduler).FilesOf(run).ConfigPath));
    }

    [Fact]
    public async Task Start_EveryRuleBroken_ExplainsEachAndRecordsNothing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, _) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var dpo = (await env.TrainingMethods.ListAsync()).Single(m => m.Algorithm == TrainingAlgorithm.Dpo);
        var scheduler = new RecordingRunScheduler();

        var result = await Service(env, scheduler).StartAsync(new NewTrainRequest("bad name!", model.Id, version.Id, dpo.Id,
            new JsonObject { ["max_tokens"] = 4096, ["batch_size"] = 0 }, "tpu"));

        Assert.Contains("letters, digits", string.Join(" ", result.ErrorsFor(TrainingRunService.NameField)));
        Assert.Contains("preference pairs", string.Join(" ", result.ErrorsFor(TrainingRunService.DatasetField)));
        Assert.Contains("context length of 256", string.Join(" ", result.ErrorsFor("max_tokens")));
        Assert.Contains("at least 1", string.Join(" ", result.ErrorsFor("batch_size")));
        Assert.Contains("auto, cpu, cuda", string.Join(" ", result.ErrorsFor(TrainingRunService.DeviceField)));
        Assert.Empty(scheduler.Queued);
        Assert.Empty(await Service(env, scheduler).ListAsync());
    }

    [Fact]
    public async Task Start_PpoMethodOnPromptAnswerData_IsQueuedWithRewardFunctionsAndNoRewardModel()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, ppo) = await TrainingHost.PrepareAsync(env, TrainingHost.EightPromptsWithAnswers(), TrainingAlgorithm.Ppo);
        var scheduler = new RecordingRunScheduler();

        var result = await Service(env, scheduler).StartAsync(new NewTrainRequest("p", model.Id, version.Id, ppo.Id,
            new JsonObject { ["max_tokens"] = 128, ["max_completion_tokens"] = 32, ["reward_weights"] = "2" }));

        Assert.True(result.Succeeded, result.AllErrors);
        Assert.Single(scheduler.Queued);
        var recorded = result.Value!.TrainingParameters;
        Assert.Equal(["exact_match"], recorded.RewardFunctions);
        Assert.Equal(4, recorded.PpoEpochs);
        Assert.Equal(0.95, recorded.Lambda);
        Assert.Null(result.Value.Parameters["reward_model"]);
    }

    [Fact]
    public async Task Start_PpoRewardWeightsNotOnePerFunction_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, ppo) = await TrainingHost.PrepareAsync(env, TrainingHost.EightPromptsWithAnswers(), TrainingAlgorithm.Ppo);
        var scheduler = new RecordingRunScheduler();

        var result = await Service(env, scheduler).StartAsync(new NewTrainRequest("p", model.Id, version.Id, ppo.Id,
            new JsonObject { ["max_tokens"] = 128, ["max_completion_tokens"] = 32, ["reward_weights"] = "1, 0.5" }));

        Assert.Contains("2 reward weight(s) for 1 reward function(s)", string.Join(" ", result.ErrorsFor(TrainingParameters.Keys.RewardWeights)));
        Assert.Empty(scheduler.Queued);
    }

    [Fact]
    public async Task Start_GrpoMethodOnPromptAnswerData_IsQueued()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, grpo) = await TrainingHost.PrepareAsync(env, TrainingHost.EightPromptsWithAnswers(), TrainingAlgorithm.Grpo);
        var scheduler = new RecordingRunScheduler();

        var result = await Service(env, scheduler).StartAsync(new NewTrainRequest("g", model.Id, version.Id, grpo.Id,
            new JsonObject { ["max_tokens"] = 128, ["max_completion_tokens"] = 32 }));

        Assert.True(result.Succeeded, result.AllErrors);
        Assert.Single(scheduler.Queued);
    }

    [Fact]
    public async Task Start_GrpoCompletionBudgetFillingMaxTokens_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, grpo) = await TrainingHost.PrepareAsync(env, TrainingHost.EightPromptsWithAnswers(), TrainingAlgorithm.Grpo);

        var result = await Service(env, new RecordingRunScheduler()).StartAsync(new NewTrainRequest("g", model.Id, version.Id, grpo.Id,
            new JsonObject { ["max_tokens"] = 64, ["max_completion_tokens"] = 64 }));

        Assert.Contains("must be below max tokens", string.Join(" ", result.ErrorsFor("max_completion_tokens")));
    }

    [Fact]
    public async Task Cancel_QueuedRun_IsUnqueuedAndEndsCancelled()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var scheduler = new RecordingRunScheduler();
        var service = Service(env, scheduler);
        var run = (await service.StartAsync(new NewTrainRequest("c", model.Id, version.Id, method.Id, Fits()))).Value!;

        var cancelled = await service.CancelAsync(run.Id);

        Assert.Equal(WorkStatus.Cancelled, cancelled.Value!.Status);
        Assert.Empty(scheduler.Queued);
        Assert.NotNull(cancelled.Value.FinishedAtUtc);
        Assert.Contains("already ended", (await service.CancelAsync(run.Id)).AllErrors);
    }

    [Fact]
    public async Task Delete_ThingsATrainUses_IsRefusedWithTheTrainsName()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, _) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var custom = (await env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("mine", TrainingAlgorithm.Sft, null, []))).Value!;
        await Service(env, new RecordingRunScheduler()).StartAsync(new NewTrainRequest("keeper", model.Id, version.Id, custom.Id, Fits()));

        var baseModel = await env.BaseModels.DeleteAsync(model.Id);
        var dataset = await env.Datasets.DeleteAsync(version.DatasetId);
        var method = await env.TrainingMethods.DeletePresetAsync(custom.Id);

        Assert.Contains("keeper", baseModel.AllErrors);
        Assert.Contains("train keeper", dataset.AllErrors);
        Assert.Contains("used by 1 train", method.AllErrors);
        Assert.Single(await env.BaseModels.ListAsync());
        Assert.Single(await env.Datasets.ListAsync());
    }
}
