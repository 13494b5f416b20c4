using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A customized model without training: a queued run of tiny-qwen2 (never executed) registered with the
/// reference model's PEFT adapter, as a successful run would register its own.
/// </summary>
public static class CustomizedModelFixture
{
    public static async Task<CustomizedModel> RegisterReferenceAdapterAsync(TestEnvironment env, string trainName = "plus-one")
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var run = await runs.StartAsync(new NewTrainRequest(trainName, model.Id, version.Id, method.Id, new() { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(run.Succeeded, run.AllErrors);
        var service = new CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System);
        var customized = await service.RegisterAsync(run.Value!.Id, Path.Combine(ReferenceModels.BundledPathOf("tiny-qwen2"), "adapter"), DateTime.UtcNow);
        // The run itself never trains: ended here so a scheduler started later does not queue it again.
        Assert.True((await runs.CancelAsync(run.Value.Id)).Succeeded);
        return customized;
    }
}
