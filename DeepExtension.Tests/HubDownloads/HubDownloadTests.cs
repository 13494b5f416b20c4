using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.HubDownloads;

/// <summary>
/// Downloads from a Hub-protocol-faithful fake (two loopback hosts: the Hub and a CDN it redirects LFS files to),
/// through the real service, Quartz job, files and database.
/// </summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class HubDownloadTests
{
    private const string Repo = "tiny-org/tiny-qwen2";
    private const string ModelFile = "model.safetensors";

    private static IReadOnlyDictionary<string, string?> HubSettings(FakeHubServer hub) => new Dictionary<string, string?>
    {
        [$"{DeepExtensionOptions.SectionName}:HuggingFace:Endpoint"] = hub.Endpoint,
        [$"{DeepExtensionOptions.SectionName}:HuggingFace:RetryDelay"] = "00:00:00.200",
    };

    /// <summary>The reference model as its Hub repository holds it: weights, config, tokenizer, chat template (not the test-only reference files).</summary>
    private static FakeRepository AddReferenceRepository(FakeHubServer hub, string id = Repo, string? requiredToken = null) =>
        hub.AddRepository(id, ReferenceModels.BundledPathOf("tiny-qwen2"), requiredToken: requiredToken,
            include: name => !name.StartsWith("reference", StringComparison.Ordinal),
            extraFiles: new Dictionary<string, byte[]> { ["README.md"] = Encoding.UTF8.GetBytes("---\nlicense: apache-2.0\n---\n# tiny\n") });

    private static HubDownloadService Downloads(TrainingHost host) => host.Host.Services.GetRequiredService<HubDownloadService>();

    private static async Task<HubDownload> WaitForAsync(HubDownloadService downloads, Guid id, Func<HubDownload, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var download = (await downloads.GetAsync(id))!;
            if (condition(download)) return download;
            if (DateTime.UtcNow > deadline)
            {
                var log = string.Join("\n", downloads.LogOf(id).ReadAll().Select(l => l.Message));
                Assert.Fail($"Download stayed {download.Status} ({download.Stage}, {download.DoneBytes}/{download.TotalBytes}, {download.FailureReason}). Log:\n{log}");
            }
            await Task.Delay(100);
        }
    }

    private static void AssertNothingUnderModelsRoot(TestEnvironment env) =>
        Assert.DoesNotContain(Directory.GetFileSystemEntries(env.Directories.ModelsRoot, "*", SearchOption.AllDirectories), p => !Directory.Exists(p));

    [Fact]
    public async Task FakeHub_LfsFile_RedirectsToTheCdnWithLinkedHeadersAndServesRanges()
    {
        await using var hub = await FakeHubServer.StartAsync();
        var repository = AddReferenceRepository(hub);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        var info = JsonNode.Parse(await client.GetStringAsync($"{hub.Endpoint}/api/models/{Repo}/revision/main?blobs=true"))!;
        Assert.Equal(repository.Commit, info["sha"]!.GetValue<string>());
        var weights = info["siblings"]!.AsArray().Single(s => s!["rfilename"]!.GetValue<string>() == ModelFile)!;
        Assert.Equal(repository.Files[ModelFile].Length, weights["lfs"]!["size"]!.GetValue<long>());

        using var resolve = await client.GetAsync($"{hub.Endpoint}/{Repo}/resolve/main/{ModelFile}");
        Assert.Equal(System.Net.HttpStatusCode.Found, resolve.StatusCode);
        Assert.StartsWith(hub.CdnUrl, resolve.Headers.Location!.ToString());
        Assert.Equal(repository.Commit, resolve.Headers.GetValues("X-Repo-Commit").Single());
        Assert.Equal($"\"{weights["lfs"]!["sha256"]!.GetValue<string>()}\"", resolve.Headers.GetValues("X-Linked-Etag").Single());

        using var request = new HttpRequestMessage(HttpMethod.Get, resolve.Headers.Location);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, null);
        using var ranged = await client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal(repository.Files[ModelFile].AsSpan(100).ToArray(), await ranged.Content.ReadAsByteArrayAsync());

        using var config = await client.GetAsync($"{hub.Endpoint}/{Repo}/resolve/main/config.json");
        Assert.Equal($"\"{FakeHubServer.GitBlobId(repository.Files["config.json"])}\"", config.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task Plan_SafetensorsRepository_ListsWeightsConfigTokenizerAndTemplateWithSizes()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        var repository = AddReferenceRepository(hub);
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var plan = await Downloads(host).PlanAsync(new HubDownloadRequest(Repo));

        Assert.True(plan.Succeeded, plan.AllErrors);
        var p = plan.Value!;
        Assert.Equal(["chat_template.jinja", "config.json", "generation_config.json", ModelFile, "tokenizer.json", "tokenizer_config.json"],
            p.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Contains("README.md", p.Skipped);
        Assert.Equal(repository.Commit, p.Commit);
        Assert.Equal("Qwen2ForCausalLM", p.Architecture);
        Assert.Equal(Repo, p.TargetPath);
        Assert.Equal("tiny-qwen2", p.TechnicalName);
        Assert.Equal(repository.Files[ModelFile].Length, p.Files.Single(f => f.Name == ModelFile).Size);
        Assert.NotNull(p.Files.Single(f => f.Name == ModelFile).Sha256);
        Assert.Null(p.Files.Single(f => f.Name == "config.json").Sha256);
        AssertNothingUnderModelsRoot(env);
    }

    [Fact]
    public async Task Plan_PicklesOnly_IsRefusedWithTheReason()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        hub.AddRepository("old/pickled", extraFiles: new Dictionary<string, byte[]>
        {
            ["config.json"] = Encoding.UTF8.GetBytes("""{"architectures":["LlamaForCausalLM"]}"""),
            ["pytorch_model.bin"] = new byte[1024],
        });
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var started = await Downloads(host).StartAsync(new HubDownloadRequest("old/pickled"));

        Assert.False(started.Succeeded);
        Assert.Contains("only as PyTorch pickles (pytorch_model.bin)", started.AllErrors);
        Assert.DoesNotContain(hub.Requests, r => r.Contains("pytorch_model.bin", StringComparison.Ordinal));
        Assert.Empty(await Downloads(host).ListAsync());
        AssertNothingUnderModelsRoot(env);
    }

    [Fact]
    public async Task Plan_UnsupportedArchitecture_IsRefusedNamingWhatTheEngineTrains()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        var config = """{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2"}""";
        hub.AddRepository("openai-community/gpt2", ReferenceModels.BundledPathOf("tiny-qwen2"),
            include: name => name is ModelFile or "tokenizer.json",
            extraFiles: new Dictionary<string, byte[]> { ["config.json"] = Encoding.UTF8.GetBytes(config) });
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var started = await Downloads(host).StartAsync(new HubDownloadRequest("openai-community/gpt2"));

        Assert.False(started.Succeeded);
        Assert.Contains("is a GPT2LMHeadModel model; the training engine trains LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM only", started.AllErrors);
        Assert.Empty(await Downloads(host).ListAsync());
        AssertNothingUnderModelsRoot(env);
    }

    [Fact]
    public async Task Plan_GatedWithoutToken_SaysATokenIsNeeded_AndAWrongTokenHasNoAccess()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        AddReferenceRepository(hub, "meta-llama/tiny", requiredToken: "hf_right");
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var withoutToken = await Downloads(host).PlanAsync(new HubDownloadRequest("meta-llama/tiny"));
        var wrongToken = await Downloads(host).PlanAsync(new HubDownloadRequest("meta-llama/tiny", AccessToken: "hf_wrong"));
        var rightToken = await Downloads(host).PlanAsync(new HubDownloadRequest("meta-llama/tiny", AccessToken: "hf_right"));

        Assert.Contains("meta-llama/tiny is a gated model: an access token of an account that accepted its conditions is needed (HTTP 401).", withoutToken.AllErrors);
        Assert.Contains("this access token has no access to it", wrongToken.AllErrors);
        Assert.True(rightToken.Succeeded, rightToken.AllErrors);
        Assert.True(rightToken.Value!.Gated);
    }

    [Fact]
    public async Task Plan_UnknownRepositoryOrRevision_SaysWhich()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        AddReferenceRepository(hub);
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var unknown = await Downloads(host).PlanAsync(new HubDownloadRequest("nobody/nothing"));
        var revision = await Downloads(host).PlanAsync(new HubDownloadRequest(Repo, "v9"));
        var malformed = await Downloads(host).PlanAsync(new HubDownloadRequest("not a repo"));

        Assert.Contains("The Hub has no repository nobody/nothing, or it is private", unknown.AllErrors);
        Assert.Contains("has no revision by that name", revision.AllErrors);
        Assert.Contains("Enter the repository id as owner/name", malformed.AllErrors);
    }

    [Fact]
    public async Task Download_FromTheFakeHub_VerifiesRegistersWithLineageAndTrains()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        var repository = AddReferenceRepository(hub);
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var started = await Downloads(host).StartAsync(new HubDownloadRequest(Repo));
        Assert.True(started.Succeeded, started.AllErrors);
        var done = await WaitForAsync(Downloads(host), started.Value!.Id, d => d.IsFinished);

        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.Status}: {done.FailureReason}");
        Assert.Equal(done.TotalBytes, done.DoneBytes);
        var folder = Path.Combine(env.Directories.ModelsRoot, Repo);
        Assert.False(Directory.Exists(DataDirectories.PartialOf(folder)));
        foreach (var (name, bytes) in repository.Files.Where(f => f.Key is ModelFile or "config.json" or "tokenizer.json"))
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(folder, name)));
        Assert.False(File.Exists(Path.Combine(folder, "README.md")));
        Assert.DoesNotContain(hub.Authorizations, a => a.Host == "cdn" && a.Authorization is not null);

        var model = (await env.BaseModels.GetAsync(done.BaseModelId!.Value))!;
        Assert.Equal("tiny-qwen2", model.TechnicalName);
        Assert.Equal(Repo, model.RelativePath);
        Assert.Equal(Repo, model.SourceRepository);
        Assert.Equal(repository.Commit, model.SourceCommit);
        Assert.Equal("Qwen2ForCausalLM", model.Card.Architecture);
        Assert.True(model.Card.HasChatTemplate);

        // The downloaded base trains like any other (the real worker on CPU).
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(TrainingHost.TwentyChats()));
        var dataset = await env.Datasets.CreateAsync("facts", null, new global::DeepExtension.Core.Datasets.DatasetUpload(content, "facts.jsonl"));
        Assert.True(dataset.Succeeded, dataset.AllErrors);
        var method = (await env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Sft);
        var parameters = new JsonObject { ["num_epochs"] = 1, ["batch_size"] = 4, ["max_tokens"] = 64, ["lora_r"] = 4, ["lora_alpha"] = 8 };
        var run = await host.Runs.StartAsync(new NewTrainRequest("from-hub", model.Id, dataset.Value!.Version.Id, method.Id, parameters, "cpu"));
        Assert.True(run.Succeeded, run.AllErrors);
        var trained = await host.WaitForAsync(run.Value!.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));
        Assert.True(trained.Status == WorkStatus.Succeeded, $"{trained.Status}: {trained.FailureReason}");
    }

    [Fact]
    public async Task Download_ConnectionDroppedMidFile_ResumesWithARangeWithoutFetchingTheStartAgain()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        var repository = AddReferenceRepository(hub);
        var size = repository.Files[ModelFile].Length;
        hub.DropConnectionOnce(ModelFile, size / 2);
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var started = await Downloads(host).StartAsync(new HubDownloadRequest(Repo));
        var done = await WaitForAsync(Downloads(host), started.Value!.Id, d => d.IsFinished);

        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.Status}: {done.FailureReason}");
        var served = hub.Served.Where(s => s.File == ModelFile).ToList();
        Assert.Equal(2, served.Count);
        Assert.Equal(new ServedRange(ModelFile, 0, size / 2), served[0]);
        // The second request starts where the bytes on disk end: what the first delivered before the drop (bytes
        // still in flight when the connection was aborted are lost, how many depends on the client's buffers: 96 KiB of
        // 210 KiB sent was seen), never the start again, and asks only for the rest.
        Assert.InRange(served[1].From, 1, size / 2);
        Assert.Equal(size, served[1].From + served[1].Bytes);
        Assert.Equal(repository.Files[ModelFile], File.ReadAllBytes(Path.Combine(env.Directories.ModelsRoot, Repo, ModelFile)));
        Assert.Contains(Downloads(host).LogOf(done.Id).ReadAll(), l => l.Level == RunLogLevel.Warning && l.Message.StartsWith(ModelFile, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Download_ConsoleRestartMidFile_ResumesFromTheBytesOnDisk()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        var repository = AddReferenceRepository(hub);
        var size = repository.Files[ModelFile].Length;
        hub.BytesPerSecond = size / 4;
        Guid id;
        var partialFile = Path.Combine(DataDirectories.PartialOf(Path.Combine(env.Directories.ModelsRoot, Repo)), ModelFile + ".incomplete");
        await using (var first = await TrainingHost.StartAsync(env, HubSettings(hub)))
        {
            id = (await Downloads(first).StartAsync(new HubDownloadRequest(Repo))).Value!.Id;
            await WaitForAsync(Downloads(first), id, d => File.Exists(partialFile) && new FileInfo(partialFile).Length > size / 8);
            await first.StopAsync();
            var stopped = (await Downloads(first).GetAsync(id))!;
            Assert.Equal(WorkStatus.Queued, stopped.Status);
        }
        var kept = new FileInfo(partialFile).Length;
        Assert.InRange(kept, size / 8, size - 1);
        hub.BytesPerSecond = null;

        await using var second = await TrainingHost.StartAsync(env, HubSettings(hub));
        var done = await WaitForAsync(Downloads(second), id, d => d.IsFinished);

        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.Status}: {done.FailureReason}");
        Assert.Equal(2, done.Attempts);
        // The server records a transfer when it ends; the first console's, cut by its stop, may be recorded last.
        var served = hub.Served.Where(s => s.File == ModelFile).ToList();
        Assert.Single(served, s => s.From == 0);
        Assert.Contains(served, s => s.From == kept && s.Bytes == size - kept);
        Assert.Equal(repository.Files[ModelFile], File.ReadAllBytes(Path.Combine(env.Directories.ModelsRoot, Repo, ModelFile)));
    }

    [Fact]
    public async Task Download_RateLimitedTwice_WaitsForRetryAfterAndSucceeds()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        AddReferenceRepository(hub);
        hub.RateLimitNext(2, retryAfterSeconds: 1, file: ModelFile);
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));
        var started = await Downloads(host).StartAsync(new HubDownloadRequest(Repo));

        var done = await WaitForAsync(Downloads(host), started.Value!.Id, d => d.IsFinished);

        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.Status}: {done.FailureReason}");
        var warnings = Downloads(host).LogOf(done.Id).ReadAll().Where(l => l.Level == RunLogLevel.Warning).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("rate limiting", w.Message));
    }

    [Fact]
    public async Task Download_CorruptByte_FailsNamingTheFileAndLeavesNoModel()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        AddReferenceRepository(hub);
        hub.CorruptByte(ModelFile, 1000);
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));

        var started = await Downloads(host).StartAsync(new HubDownloadRequest(Repo));
        var done = await WaitForAsync(Downloads(host), started.Value!.Id, d => d.IsFinished);

        Assert.Equal(WorkStatus.Failed, done.Status);
        Assert.StartsWith($"{ModelFile} failed verification: its SHA-256 is ", done.FailureReason);
        Assert.Null(done.BaseModelId);
        Assert.Empty(await env.BaseModels.ListAsync());
        AssertNothingUnderModelsRoot(env);
    }

    [Fact]
    public async Task Download_GatedWithToken_KeepsTheTokenEncryptedAndNeverSendsItToTheCdn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        AddReferenceRepository(hub, "meta-llama/tiny", requiredToken: "hf_secret_token");
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));
        hub.BytesPerSecond = 400_000;

        var started = await Downloads(host).StartAsync(new HubDownloadRequest("meta-llama/tiny", AccessToken: "hf_secret_token"));
        Assert.True(started.Succeeded, started.AllErrors);
        await using (var db = await env.DbFactory.CreateDbContextAsync())
        {
            var stored = await db.HubDownloads.AsNoTracking().SingleAsync();
            Assert.NotNull(stored.ProtectedToken);
            Assert.DoesNotContain("hf_secret_token", stored.ProtectedToken);
        }
        var done = await WaitForAsync(Downloads(host), started.Value!.Id, d => d.IsFinished);

        Assert.True(done.Status == WorkStatus.Succeeded, $"{done.Status}: {done.FailureReason}");
        Assert.Null(done.ProtectedToken);
        Assert.Contains(hub.Authorizations, a => a is ("hub", "Bearer hf_secret_token"));
        Assert.DoesNotContain(hub.Authorizations, a => a.Host == "cdn" && a.Authorization is not null);
        Assert.DoesNotContain("hf_secret_token", string.Join("\n", Downloads(host).LogOf(done.Id).ReadAll().Select(l => l.Message)));
    }

    [Fact]
    public async Task Cancel_RunningDownload_EndsCancelledAndDeletesWhatItWrote()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var hub = await FakeHubServer.StartAsync();
        var repository = AddReferenceRepository(hub);
        hub.BytesPerSecond = repository.Files[ModelFile].Length / 8;
        await using var host = await TrainingHost.StartAsync(env, HubSettings(hub));
        var id = (await Downloads(host).StartAsync(new HubDownloadRequest(Repo))).Value!.Id;
        await WaitForAsync(Downloads(host), id, d => d.Status == WorkStatus.Running && d.DoneBytes > 0);

        var cancelled = await Downloads(host).CancelAsync(id);

        Assert.True(cancelled.Succeeded, cancelled.AllErrors);
        await WaitForAsync(Downloads(host), id, _ => Downloads(host).LogOf(id).ReadAll().Any(l => l.Message.StartsWith("Cancelled", StringComparison.Ordinal)));
        Assert.Equal(WorkStatus.Cancelled, (await Downloads(host).GetAsync(id))!.Status);
        AssertNothingUnderModelsRoot(env);
        Assert.Empty(await env.BaseModels.ListAsync());
    }
}
