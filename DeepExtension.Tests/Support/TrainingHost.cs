using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Tests.Support;

/// <summary>
/// The console's services and Quartz scheduler (persistent store in the test database) in a host, as the web
/// app runs them; runs execute in real worker processes.
/// </summary>
public sealed class TrainingHost : IAsyncDisposable
{
    private TrainingHost(IHost host) => Host = host;

    public IHost Host { get; }
    public TrainingRunService Runs => Host.Services.GetRequiredService<TrainingRunService>();
    public CustomizedModelService CustomizedModels => Host.Services.GetRequiredService<CustomizedModelService>();
    public DeepExtension.Core.CompleteModels.CompleteModelService CompleteModels => Host.Services.GetRequiredService<DeepExtension.Core.CompleteModels.CompleteModelService>();

    /// <summary>Starts the host over <paramref name="env"/>'s data root.</summary>
    /// <param name="settings">Configuration on top of the data root (limits, intervals, the Hub endpoint).</param>
    public static async Task<TrainingHost> StartAsync(TestEnvironment env, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{DeepExtensionOptions.SectionName}:DataRoot"] = env.DataRoot,
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        var host = builder.Build();
        await host.Services.MigrateDeepExtensionDatabaseAsync();
        await host.StartAsync();
        return new TrainingHost(host);
    }

    public async Task StopAsync() => await Host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync();
        }
        catch (OperationCanceledException)
        {
        }
        Host.Dispose();
    }

    /// <summary>Registers a reference model (tiny-qwen2 unless told), uploads <paramref name="datasetJsonl"/> as a JSONL dataset, and returns the ids a train needs.</summary>
    public static async Task<(BaseModel Model, DatasetVersion Version, TrainingMethod Method)> PrepareAsync(
        TestEnvironment env, string datasetJsonl, TrainingAlgorithm algorithm, int validationPercent = 0,
        string reference = "tiny-qwen2", string? deploymentTemplate = null)
    {
        var path = env.AddModelFolder(reference);
        var created = await env.BaseModels.CreateAsync(new BaseModelInput(reference, reference, path, deploymentTemplate));
        Assert.True(created.Succeeded, created.AllErrors);
        var model = created.Value!;
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(datasetJsonl));
        var upload = await env.Datasets.CreateAsync("facts", null, new DatasetUpload(content, "facts.jsonl", ValidationPercent: validationPercent));
        Assert.True(upload.Succeeded, upload.AllErrors);
        var method = (await env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == algorithm);
        return (model, upload.Value!.Version, method);
    }

    /// <summary>
    /// An SFT train that goes on until it is cancelled (1,000 epochs of <see cref="TwentyChats"/>, a point per step), with
    /// a checkpoint every <paramref name="saveEvery"/> steps; small and quick steps unless told otherwise.
    /// </summary>
    public static System.Text.Json.Nodes.JsonObject EndlessSft(int saveEvery = 1000, int maxTokens = 32, int loraR = 4) => new()
    {
        ["num_epochs"] = 1000,
        ["batch_size"] = 1,
        ["learning_rate"] = 5e-3,
        ["warmup_ratio"] = 0.0,
        ["lr_scheduler"] = "constant",
        ["max_tokens"] = maxTokens,
        ["lora_r"] = loraR,
        ["lora_alpha"] = 2 * loraR,
        ["lora_dropout"] = 0.0,
        ["save_every"] = saveEvery,
        ["save_unit"] = "steps",
    };

    /// <summary>Twenty short question/answer chats.</summary>
    public static string TwentyChats()
    {
        var lines = Enumerable.Range(0, 20).Select(i =>
            new JsonObject
            {
                ["messages"] = new JsonArray(
                    new JsonObject { ["role"] = "user", ["content"] = $"What is {i} plus one?" },
                    new JsonObject { ["role"] = "assistant", ["content"] = $"{i + 1}" }),
            }.ToJsonString());
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>Twenty prompts with a preferred and a dispreferred answer.</summary>
    public static string TwentyPreferencePairs()
    {
        var lines = Enumerable.Range(0, 20).Select(i =>
            new JsonObject { ["prompt"] = $"What is {i} plus one?", ["chosen"] = $"{i + 1}", ["rejected"] = $"{i + 7}" }.ToJsonString());
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>Eight prompts with a numeric reference answer (GRPO).</summary>
    public static string EightPromptsWithAnswers()
    {
        var lines = Enumerable.Range(0, 8).Select(i =>
            new JsonObject { ["prompt"] = $"What is {i} plus one?", ["answer"] = $"{i + 1}" }.ToJsonString());
        return string.Join("\n", lines) + "\n";
    }

    public async Task<TrainingRun> WaitForAsync(Guid runId, Func<TrainingRun, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = (await Runs.GetAsync(runId))!;
            if (condition(run)) return run;
            if (DateTime.UtcNow > deadline)
            {
                var log = File.Exists(Runs.FilesOf(run).LogPath) ? File.ReadAllText(Runs.FilesOf(run).LogPath) : "(no log)";
                Assert.Fail($"Run stayed {run.Status} (step {run.Step}/{run.TotalSteps}, reason {run.FailureReason}). Log:\n{log}");
            }
            await Task.Delay(200);
        }
    }
}
