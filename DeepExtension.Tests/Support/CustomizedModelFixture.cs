using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A customized model without training: a queued run of a reference model (tiny-qwen2 unless told; never executed)
/// registered with the reference model's PEFT adapter, as a successful run would register its own.
/// </summary>
public static class CustomizedModelFixture
{
    /// <summary>A ChatML Ollama template, like the ones users paste for Qwen2-style models.</summary>
    public const string ChatMlTemplate =
        "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n";

    public static async Task<CustomizedModel> RegisterReferenceAdapterAsync(
        TestEnvironment env, string trainName = "plus-one", string reference = "tiny-qwen2", string? deploymentTemplate = null, string? systemPrompt = null)
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft, reference: reference, deploymentTemplate: deploymentTemplate);
        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var parameters = new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 };
        if (systemPrompt is not null) parameters["system_prompt"] = systemPrompt;
        var run = await runs.StartAsync(new NewTrainRequest(trainName, model.Id, version.Id, method.Id, parameters, "cpu"));
        Assert.True(run.Succeeded, run.AllErrors);
        var service = new CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System);
        var customized = await service.RegisterAsync(run.Value!.Id, Path.Combine(ReferenceModels.BundledPathOf(reference), "adapter"), DateTime.UtcNow);
        // The run itself never trains: ended here so a scheduler started later does not queue it again.
        Assert.True((await runs.CancelAsync(run.Value.Id)).Succeeded);
        return customized;
    }
}
