using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Evaluations;

public class EvaluationServiceTests
{
    [Fact]
    public async Task StartAsync_ValidationPartWithoutSplit_ExplainsAndRecordsNothing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, _) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var queue = new RecordingScheduler();
        var service = new EvaluationService(env.DbFactory, env.Directories, queue, TimeProvider.System);

        var result = await service.StartAsync(new EvaluationRequest([new ModelReference(EvaluatedModelKind.Base, model.Id)], version.Id, DatasetPart.Validation,
            MaxNewTokens: 0, JudgeDeploymentId: Guid.NewGuid()));

        Assert.False(result.Succeeded);
        Assert.Contains("has no validation split", string.Join(" ", result.ErrorsFor(EvaluationService.PartField)));
        Assert.Contains("between 1 and 8192", string.Join(" ", result.ErrorsFor(EvaluationService.DecodingField)));
        Assert.Contains("deployed in Ollama", string.Join(" ", result.ErrorsFor(EvaluationService.JudgeField)));
        Assert.Empty(await service.ListAsync());
        Assert.Empty(queue.Queued);
    }

    [Fact]
    public async Task StartAsync_BaseOnAllRows_RecordsItQueuedWithItsSettingsAndQueuesTheJob()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, _) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var queue = new RecordingScheduler();
        var service = new EvaluationService(env.DbFactory, env.Directories, queue, TimeProvider.System);

        var result = await service.StartAsync(new EvaluationRequest([new ModelReference(EvaluatedModelKind.Base, model.Id)], version.Id, DatasetPart.All,
            MaxExamples: 5, MaxNewTokens: 16, Temperature: 0.7, TopP: 0.9, Seed: 7));

        Assert.True(result.Succeeded, result.AllErrors);
        var stored = (await service.GetAsync(result.Value!.Id))!;
        Assert.Equal(WorkStatus.Queued, stored.Status);
        Assert.Equal([new EvaluatedModel(EvaluatedModelKind.Base, model.Id, "tiny-qwen2")], stored.Models);
        Assert.Equal((DatasetPart.All, 5, 16, 0.7, 0.9, 7L), (stored.Part, stored.MaxExamples, stored.MaxNewTokens, stored.Temperature, stored.TopP, stored.Seed));
        Assert.Equal("tiny-qwen2 on v1 all", stored.Name);
        Assert.Equal([stored.Id], queue.Queued);
        Assert.Equal(Path.Combine(env.DataRoot, "evaluations", stored.Id.ToString("N"), "evaluate.log.jsonl"), service.LogOf(stored.Id).Path);
    }

    [Fact]
    public async Task StartAsync_ThreeModels_NamesTheEvaluationForAllOfThem()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var trio = await ComparedRunsFixture.CreateAsync(env);

        var (evaluation, longer) = await RunEvaluationFixture.EvaluateTwoRunsAsync(env, trio);

        Assert.Equal($"{trio.AdapterName}, {longer} vs tiny-qwen2 on v1 all", evaluation.Name);
    }
}
