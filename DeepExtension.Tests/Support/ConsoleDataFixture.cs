using DeepExtension.Core.Work;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A console with something on every page, for layout tests: base models with long names, trains in every state
/// (from <see cref="ComparedRunsFixture"/> plus a queued and a failed one), a customized and a complete model, an
/// environment, and deployments that succeeded (really created in <paramref name="ollama"/>), failed and are running.
/// Rows are made by the real services or written as the jobs write them; no worker runs.
/// </summary>
public static class ConsoleDataFixture
{
    public const string LongTechnicalName = "llama-3.2-1b-instruct-support-v2";
    public const string LongTrainName = "customer-support-answers-in-house-style-third-try-long-schedule";

    public sealed record Seeded(ComparedRunsFixture.Trio Trio, TrainingRun Queued, TrainingRun Failed, CompleteModel Complete);

    public static async Task<Seeded> CreateAsync(TestEnvironment env, FakeOllamaServer ollama)
    {
        var trio = await ComparedRunsFixture.CreateAsync(env);

        var llama = env.AddModelFolder("tiny-llama", "hf/meta-llama-community-mirror/Llama-3.2-1B-Instruct-customer-support-distilled-second-round");
        var created = await env.BaseModels.CreateAsync(new BaseModelInput(LongTechnicalName,
            "Llama 3.2 1B Instruct, distilled on customer support answers (second round, with an unusually long display name)", llama, null));
        Assert.True(created.Succeeded, created.AllErrors);
        var qwen = env.AddModelFolder("tiny-qwen2", "hf/Qwen/Qwen2.5-0.5B-Instruct-tiny-reference-copy-kept-for-the-layout-tests");
        created = await env.BaseModels.CreateAsync(new BaseModelInput("qwen2.5-0.5b-instruct-tiny-ref", "Qwen2.5 0.5B Instruct (tiny reference)",
            qwen, CustomizedModelFixture.ChatMlTemplate));
        Assert.True(created.Succeeded, created.AllErrors);

        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var parameters = new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 };
        var started = await runs.StartAsync(new NewTrainRequest(LongTrainName, trio.Base.BaseModelId, trio.Base.DatasetVersionId, trio.Base.MethodId, parameters, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var queued = started.Value!;
        var failed = (await runs.StartAsync(new NewTrainRequest("too-large-batch", trio.Base.BaseModelId, trio.Base.DatasetVersionId, trio.Base.MethodId,
            (System.Text.Json.Nodes.JsonObject)parameters.DeepClone(), "cpu"))).Value!;
        Assert.True(await runs.MarkRunningAsync(failed.Id));
        await runs.FinishAsync(failed.Id, WorkStatus.Failed,
            "The worker process was killed (exit code 137): it ran out of memory at step 3. Lower the batch size or max tokens and resume from the last checkpoint.");

        var customized = (await new DeepExtension.Core.CustomizedModels.CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System).ListAsync()).Single();
        var completeModels = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var complete = await DeepExtension.Tests.CompleteModels.ModelSavingTests.RegisterFakeMergeAsync(env, completeModels, customized);

        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl, "local-ollama-on-the-gpu-server");
        var succeeded = Deployment(complete, environment, "customer-support-assistant-qwen2-second-round:q8_0", WorkStatus.Succeeded);
        var folder = Path.Combine(env.Directories.Root, complete.Path);
        succeeded.SizeBytes = await env.OllamaDeployer.DeployAsync(ollama.BaseUrl,
            new OllamaCreatePlan(succeeded.OllamaModel, OllamaModelFiles.ModelFolder(folder), [], CustomizedModelFixture.ChatMlTemplate, null, [], "q8_0"),
            _ => Task.CompletedTask, CancellationToken.None);
        var failedDeployment = Deployment(complete, environment, "customer-support-assistant-qwen2:q4_K_M", WorkStatus.Failed);
        failedDeployment.FailureReason = "Ollama answered 400 Bad Request: unsupported architecture \"Qwen2ForCausalLM\" for quantization q4_K_M on this server version.";
        var running = Deployment(complete, environment, "customer-support-assistant-qwen2-third-round-with-a-long-name:no_quantization", WorkStatus.Running);
        running.Progress = 0.4;
        running.Stage = "Uploading model.safetensors (1 MiB of 2 MiB)";
        running.FinishedAtUtc = null;
        await using (var db = await env.DbFactory.CreateDbContextAsync())
        {
            db.ModelDeployments.AddRange(succeeded, failedDeployment, running);
            await db.SaveChangesAsync();
        }
        return new Seeded(trio, queued, (await runs.GetAsync(failed.Id))!, complete);
    }

    private static ModelDeployment Deployment(CompleteModel complete, DeploymentEnvironment environment, string name, WorkStatus status) => new()
    {
        Id = Guid.NewGuid(),
        OllamaModel = name,
        SourceKind = DeploymentSourceKind.Complete,
        SourceModelId = complete.Id,
        SourceModelName = complete.Name,
        BaseModelId = complete.BaseModelId,
        BaseModelName = "tiny-qwen2",
        EnvironmentId = environment.Id,
        EnvironmentName = environment.Name,
        BaseUrl = environment.BaseUrl,
        Quantization = name[(name.LastIndexOf(':') + 1)..],
        Status = status,
        Progress = status == WorkStatus.Succeeded ? 1 : 0,
        CreatedAtUtc = DateTime.UtcNow.AddMinutes(-5),
        StartedAtUtc = DateTime.UtcNow.AddMinutes(-5),
        FinishedAtUtc = DateTime.UtcNow.AddMinutes(-1),
    };
}
