using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DeepExtension.Tests.Deployment;

/// <summary>The upload-and-create protocol against the fake Ollama server, with real model files.</summary>
public class OllamaDeployerTests
{
    private const string Template = CustomizedModelFixture.ChatMlTemplate;

    private static OllamaDeployer CreateDeployer(long streamThreshold = 64L * 1024 * 1024)
    {
        var services = new ServiceCollection();
        services.AddHttpClient(OllamaDeployer.HttpClientName);
        var options = new DeepExtensionOptions { Deployment = { StreamedUploadThresholdBytes = streamThreshold } };
        return new OllamaDeployer(services.BuildServiceProvider().GetRequiredService<IHttpClientFactory>(), new OllamaEndpoint(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider()), Options.Create(options));
    }

    private static OllamaCreatePlan PlanFor(string model, string folder, string? quantize = null, IReadOnlyList<OllamaUploadFile>? adapters = null) =>
        new(model, OllamaModelFiles.ModelFolder(folder), adapters ?? [], Template, "You are terse.", OllamaModelFiles.StopTokens(folder), quantize);

    [Fact]
    public async Task DeployAsync_ModelFolder_UploadsEveryFileUnderItsDigestAndCreatesWithTheModelfileFields()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var folder = ReferenceModels.BundledPathOf("tiny-qwen2");
        var progress = new List<DeployProgress>();

        var size = await CreateDeployer().DeployAsync(ollama.BaseUrl, PlanFor("tiny:q4_k_m", folder, "q4_K_M"), p => { progress.Add(p); return Task.CompletedTask; }, CancellationToken.None);

        var expectedFiles = new[] { "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors" };
        var create = Assert.Single(ollama.CreateRequests);
        var files = create["files"]!.AsObject();
        Assert.Equal(expectedFiles.Order(), files.Select(f => f.Key).Order());
        foreach (var (name, digest) in files)
        {
            Assert.Equal(await OllamaDeployer.DigestOfAsync(Path.Combine(folder, name), CancellationToken.None), digest!.GetValue<string>());
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(folder, name)), ollama.BlobContent(digest.GetValue<string>()));
        }
        Assert.Equal("tiny:q4_k_m", create["model"]!.GetValue<string>());
        Assert.Equal(Template, create["template"]!.GetValue<string>());
        Assert.Equal("You are terse.", create["system"]!.GetValue<string>());
        Assert.Equal(["<|im_end|>"], create["parameters"]!["stop"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal("q4_K_M", create["quantize"]!.GetValue<string>());
        Assert.Null(create["adapters"]);
        Assert.Contains("tiny:q4_k_m", ollama.ModelNames);
        Assert.True(size > 0);
        Assert.Equal(1.0, progress[^1].Fraction);
        Assert.Equal("Ollama: success", progress[^1].Stage);
        Assert.Contains(progress, p => p.Stage.StartsWith("Uploading model.safetensors", StringComparison.Ordinal));
        Assert.Contains(progress, p => p.Stage == "Ollama: quantizing F16 model to Q4_K_M");
        Assert.True(progress.Zip(progress.Skip(1)).All(pair => pair.Second.Fraction >= pair.First.Fraction), "progress went backwards");
    }

    [Fact]
    public async Task DeployAsync_NoQuantizationAndNoSystemPrompt_OmitsThoseFields()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var folder = ReferenceModels.BundledPathOf("tiny-qwen2");
        var plan = PlanFor("plain", folder) with { System = null };

        await CreateDeployer().DeployAsync(ollama.BaseUrl, plan, _ => Task.CompletedTask, CancellationToken.None);

        var create = Assert.Single(ollama.CreateRequests);
        Assert.Null(create["quantize"]);
        Assert.Null(create["system"]);
    }

    [Fact]
    public async Task DeployAsync_BlobsAlreadyOnTheServer_AreNotUploadedAgain()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var folder = ReferenceModels.BundledPathOf("tiny-qwen2");
        var deployer = CreateDeployer();
        await deployer.DeployAsync(ollama.BaseUrl, PlanFor("first", folder), _ => Task.CompletedTask, CancellationToken.None);
        var uploadsAfterFirst = ollama.Uploads.Count;
        var stages = new List<string>();

        await deployer.DeployAsync(ollama.BaseUrl, PlanFor("second", folder, "q8_0"), p => { stages.Add(p.Stage); return Task.CompletedTask; }, CancellationToken.None);

        Assert.Equal(5, uploadsAfterFirst);
        Assert.Equal(uploadsAfterFirst, ollama.Uploads.Count);
        Assert.Contains("Uploaded 0 files; 5 were already on the server", stages);
        Assert.Equal(10, ollama.Requests.Count(r => r.StartsWith("HEAD /api/blobs/", StringComparison.Ordinal)));
        Assert.Contains("second:latest", ollama.ModelNames);
    }

    [Fact]
    public async Task DeployAsync_FilesAboveTheStreamingThreshold_AreStreamedWithTheirLengthAndPassTheDigestCheck()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var folder = ReferenceModels.BundledPathOf("tiny-llama");
        var weights = new FileInfo(Path.Combine(folder, "model.safetensors")).Length;

        await CreateDeployer(streamThreshold: 1024).DeployAsync(ollama.BaseUrl, PlanFor("streamed", folder), _ => Task.CompletedTask, CancellationToken.None);

        var upload = Assert.Single(ollama.Uploads, u => u.Length == weights);
        Assert.Equal(weights, upload.ContentLength);
        Assert.Contains("streamed:latest", ollama.ModelNames);
    }

    [Fact]
    public async Task DeployAsync_AdapterPlan_SendsTheAdapterFilesAsTheAdaptersMap()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var folder = ReferenceModels.BundledPathOf("tiny-llama");
        var adapters = OllamaModelFiles.AdapterFolder(Path.Combine(folder, "adapter"));

        await CreateDeployer().DeployAsync(ollama.BaseUrl, PlanFor("with-adapter", folder, adapters: adapters), _ => Task.CompletedTask, CancellationToken.None);

        var create = Assert.Single(ollama.CreateRequests);
        var map = create["adapters"]!.AsObject();
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], map.Select(a => a.Key).Order());
        Assert.Equal(await OllamaDeployer.DigestOfAsync(Path.Combine(folder, "adapter", "adapter_model.safetensors"), CancellationToken.None),
            map["adapter_model.safetensors"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeployAsync_OllamaReportsAnErrorDuringCreate_ThrowsWithOllamasMessageAndNoModelExists()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.FailNextCreateWith = "unsupported content type: unknown";

        var error = await Assert.ThrowsAsync<OllamaDeployException>(() =>
            CreateDeployer().DeployAsync(ollama.BaseUrl, PlanFor("broken", ReferenceModels.BundledPathOf("tiny-qwen2")), _ => Task.CompletedTask, CancellationToken.None));

        Assert.Contains("unsupported content type: unknown", error.Message);
        Assert.Contains("broken", error.Message);
        Assert.Empty(ollama.ModelNames);
    }

    [Fact]
    public async Task DeployAsync_UnsupportedQuantization_ThrowsWithOllamasMessage()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();

        var error = await Assert.ThrowsAsync<OllamaDeployException>(() =>
            CreateDeployer().DeployAsync(ollama.BaseUrl, PlanFor("odd", ReferenceModels.BundledPathOf("tiny-qwen2"), "q3_weird"), _ => Task.CompletedTask, CancellationToken.None));

        Assert.Contains("unsupported quantization type q3_weird", error.Message);
        Assert.Empty(ollama.ModelNames);
    }

    [Fact]
    public async Task DeployAsync_NothingListensAtTheUrl_ThrowsACleanMessage()
    {
        var closed = $"http://127.0.0.1:{TestPorts.FreeLoopbackPort()}";

        var error = await Assert.ThrowsAsync<OllamaDeployException>(() =>
            CreateDeployer().DeployAsync(closed, PlanFor("nowhere", ReferenceModels.BundledPathOf("tiny-qwen2")), _ => Task.CompletedTask, CancellationToken.None));

        Assert.StartsWith($"Could not check a blob on Ollama at {closed}", error.Message);
    }

    [Fact]
    public async Task DeleteAsync_KnownAndUnknownModel_TrueThenFalse()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.AddExistingModel("someone/else:7b");
        var deployer = CreateDeployer();

        Assert.True(await deployer.DeleteAsync(ollama.BaseUrl, "someone/else:7b", CancellationToken.None));
        Assert.False(await deployer.DeleteAsync(ollama.BaseUrl, "someone/else:7b", CancellationToken.None));
        Assert.Empty(ollama.ModelNames);
    }
}
