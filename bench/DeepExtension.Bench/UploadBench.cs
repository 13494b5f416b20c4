using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core;
using DeepExtension.Core.Deployment;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepExtension.Bench;

/// <summary>
/// Deploy upload memory: OllamaDeployer.DeployAsync against an Ollama-protocol server on loopback, for model folders
/// whose model.safetensors is N MB. Each size runs in a fresh child process so that its peak RSS (VmHWM) is its own.
/// </summary>
internal static class UploadBench
{
    public const string ChildCommand = "upload-one";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args);
        var sizesMb = options.Get("sizes-mb", "48,1024,3072,6144").Split(',').Select(s => long.Parse(s, Inv)).ToList();
        var root = options.Get("dir", Path.GetTempPath());
        var free = new DriveInfo(Path.GetFullPath(root)).AvailableFreeSpace;
        var largest = sizesMb.Max() << 20;
        Console.WriteLine("# Deploy upload memory benchmark");
        Console.WriteLine();
        foreach (var line in Machine.Describe()) Console.WriteLine($"- {line}");
        Console.WriteLine($"- model folders under {root} (free: {free / (double)(1L << 30):0.0} GiB); one folder exists at a time and is deleted after its run");
        if (largest > free * 0.4)
        {
            Console.Error.WriteLine($"refusing: the largest file ({sizesMb.Max()} MiB) is more than 40% of the free space in {root}");
            return 1;
        }

        var results = new List<JsonObject>();
        foreach (var mb in sizesMb)
        {
            var folder = Path.Combine(root, $"deepx-bench-upload-{Guid.NewGuid():N}"[..32]);
            try
            {
                var write = Stopwatch.StartNew();
                WriteModelFolder(folder, mb << 20);
                Console.Error.WriteLine($"wrote {mb} MiB in {write.Elapsed.TotalSeconds:0.0} s; deploying in a child process");
                results.Add(await RunChildAsync(folder));
            }
            finally
            {
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
        }

        Console.WriteLine($"- load average at end: {Machine.LoadAverage()}");
        Console.WriteLine($"- streamed upload threshold: {new DeploymentOptions().StreamedUploadThresholdBytes >> 20} MiB (files below it go through OllamaSharp's byte[] PushBlobAsync)");
        Console.WriteLine();
        Console.WriteLine("| model.safetensors | upload path | hash s (MiB/s) | upload s (MiB/s) | total deploy s | RSS before MiB | peak RSS MiB (sampled) | VmHWM MiB | peak − before MiB | peak managed heap MiB | allocated MiB | Gen2 GCs |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            double D(string k) => r[k]!.GetValue<double>();
            long L(string k) => r[k]!.GetValue<long>();
            var mb = L("fileBytes") / (double)(1 << 20);
            var hwm = L("vmHwmBytes");
            Console.WriteLine(string.Create(Inv,
                $"| {mb:0} MiB | {r["path"]} | {D("hashSeconds"):0.00} ({mb / D("hashSeconds"):0}) | {D("uploadSeconds"):0.00} ({mb / D("uploadSeconds"):0}) | {D("totalSeconds"):0.00} | " +
                $"{MemorySampler.Mib(L("rssBeforeBytes"))} | {MemorySampler.Mib(L("peakRssBytes"))} | {MemorySampler.Mib(hwm)} | {MemorySampler.Mib(hwm - L("rssBeforeBytes"))} | " +
                $"{MemorySampler.Mib(L("peakManagedBytes"))} | {MemorySampler.Mib(L("allocatedBytes"))} | {L("gen2Collections")} |"));
        }
        return 0;
    }

    /// <summary>config.json and a valid single-tensor model.safetensors of exactly <paramref name="bytes"/> bytes (real data, not sparse).</summary>
    private static void WriteModelFolder(string folder, long bytes)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 512, "intermediate_size": 1408,
             "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 8, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "vocab_size": 32000, "torch_dtype": "float32"}
            """);
        // Header: {"weight":{"dtype":"U8","shape":[n],"data_offsets":[0,n]}} padded with spaces to a multiple of 8.
        long n = bytes - 8 - 128;
        var json = $"{{\"weight\":{{\"dtype\":\"U8\",\"shape\":[{n}],\"data_offsets\":[0,{n}]}}}}".PadRight(128);
        using var file = new FileStream(Path.Combine(folder, "model.safetensors"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        file.Write(BitConverter.GetBytes((ulong)json.Length));
        file.Write(Encoding.ASCII.GetBytes(json));
        var block = new byte[1 << 20];
        new Random(42).NextBytes(block);
        for (long left = n; left > 0; left -= block.Length)
        {
            block[0]++; // every MiB differs a little
            file.Write(block, 0, (int)Math.Min(block.Length, left));
        }
    }

    private static async Task<JsonObject> RunChildAsync(string folder)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(UploadBench).Assembly.Location);
        start.ArgumentList.Add(ChildCommand);
        start.ArgumentList.Add("--folder");
        start.ArgumentList.Add(folder);
        using var child = Process.Start(start)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0) throw new InvalidOperationException($"the upload child exited with {child.ExitCode}:\n{output}");
        var line = output.Split('\n').Last(l => l.StartsWith('{'));
        return JsonNode.Parse(line)!.AsObject();
    }

    /// <summary>The child: one deployment of the folder, measured.</summary>
    public static async Task<int> RunOneAsync(string[] args)
    {
        var folder = new BenchArgs(args).Get("folder", "");
        await using var server = await BlobServer.StartAsync();
        var services = new ServiceCollection();
        services.AddHttpClient(OllamaDeployer.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan); // as CoreHostingExtensions
        using var provider = services.BuildServiceProvider();
        var deployer = new OllamaDeployer(provider.GetRequiredService<IHttpClientFactory>(), new OllamaEndpoint(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider()), Options.Create(new DeepExtensionOptions()));

        // Warm-up: the same code path on a 1 MB folder, so JIT and connection set-up are not in the measured peak.
        var warm = Path.Combine(folder, "warm-up");
        WriteModelFolder(warm, 1 << 20);
        await deployer.DeployAsync(server.BaseUrl, Plan("warm-up", warm), _ => Task.CompletedTask, CancellationToken.None);

        var plan = Plan("bench-model", folder);
        var fileBytes = plan.Files.Single(f => f.Name == "model.safetensors").Length;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        MemorySampler.ResetHighWaterMark();
        var rssBefore = MemorySampler.CurrentRssBytes();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var gen2Before = GC.CollectionCount(2);
        double? hashEnd = null, uploadEnd = null;
        var clock = Stopwatch.StartNew();
        long? size;
        using (var sampler = new MemorySampler())
        {
            size = await deployer.DeployAsync(server.BaseUrl, plan, p =>
            {
                if (hashEnd is null && p.Stage.StartsWith("Uploading", StringComparison.Ordinal)) hashEnd = clock.Elapsed.TotalSeconds;
                if (uploadEnd is null && p.Stage.StartsWith("Uploaded", StringComparison.Ordinal)) uploadEnd = clock.Elapsed.TotalSeconds;
                return Task.CompletedTask;
            }, CancellationToken.None);
            clock.Stop();
            sampler.Dispose();
            var hwm = MemorySampler.HighWaterMarkBytes() ?? sampler.PeakRssBytes;
            var received = server.Received.TryGetValue(await OllamaDeployer.DigestOfAsync(Path.Combine(folder, "model.safetensors"), CancellationToken.None), out var got) ? got : -1;
            if (received != fileBytes) throw new InvalidOperationException($"the server verified {received} bytes of model.safetensors, expected {fileBytes}");
            if (size is null) throw new InvalidOperationException("the deployed model is not listed in /api/tags");
            var result = new JsonObject
            {
                ["fileBytes"] = fileBytes,
                ["path"] = fileBytes >= new DeploymentOptions().StreamedUploadThresholdBytes ? "streamed" : "byte[] (OllamaSharp)",
                ["hashSeconds"] = hashEnd ?? double.NaN,
                ["uploadSeconds"] = (uploadEnd ?? double.NaN) - (hashEnd ?? double.NaN),
                ["totalSeconds"] = clock.Elapsed.TotalSeconds,
                ["rssBeforeBytes"] = rssBefore,
                ["peakRssBytes"] = sampler.PeakRssBytes,
                ["vmHwmBytes"] = hwm,
                ["peakManagedBytes"] = sampler.PeakManagedBytes,
                ["allocatedBytes"] = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore,
                ["gen2Collections"] = (long)(GC.CollectionCount(2) - gen2Before),
                ["samples"] = sampler.Samples,
                ["serverVerifiedBytes"] = received,
            };
            Console.Error.WriteLine($"  {fileBytes >> 20} MiB: {clock.Elapsed.TotalSeconds:0.00} s, VmHWM {MemorySampler.Mib(hwm)} MiB (before {MemorySampler.Mib(rssBefore)} MiB), {sampler.Samples} samples");
            Console.WriteLine(result.ToJsonString());
        }
        return 0;
    }

    private static OllamaCreatePlan Plan(string model, string folder) =>
        new(model, OllamaModelFiles.ModelFolder(folder), [], "{{ .Prompt }}", null, [], null);

    /// <summary>
    /// The parts of Ollama's API DeployAsync uses, on loopback, in this process: HEAD /api/blobs/{digest} (404 until
    /// uploaded), POST /api/blobs/{digest} (the body hashed as it arrives, never stored; 400 on a digest mismatch),
    /// POST /api/create (NDJSON status lines ending in success) and GET /api/tags.
    /// </summary>
    private sealed class BlobServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        public ConcurrentDictionary<string, long> Received { get; } = new();
        private readonly ConcurrentDictionary<string, long> _models = new();

        private BlobServer(WebApplication app) => _app = app;

        public string BaseUrl => _app.Urls.First();

        public static async Task<BlobServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
            var app = builder.Build();
            var server = new BlobServer(app);
            app.MapMethods("/api/blobs/{digest}", ["HEAD"], (string digest) => server.Received.ContainsKey(digest) ? Results.Ok() : Results.NotFound());
            app.MapPost("/api/blobs/{digest}", (string digest, HttpRequest request) => server.PostBlobAsync(digest, request));
            app.MapPost("/api/create", (HttpContext context) => server.CreateAsync(context));
            app.MapGet("/api/tags", () => Results.Json(new JsonObject
            {
                ["models"] = new JsonArray(server._models.Select(m => (JsonNode)new JsonObject
                {
                    ["name"] = m.Key,
                    ["model"] = m.Key,
                    ["modified_at"] = DateTimeOffset.UtcNow.ToString("O"),
                    ["size"] = m.Value,
                    ["digest"] = new string('0', 64),
                    ["details"] = new JsonObject { ["format"] = "gguf", ["family"] = "llama", ["parameter_size"] = "0", ["quantization_level"] = "F32" },
                }).ToArray()),
            }));
            await app.StartAsync();
            return server;
        }

        private async Task<IResult> PostBlobAsync(string digest, HttpRequest request)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            long total = 0;
            try
            {
                int read;
                while ((read = await request.Body.ReadAsync(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    total += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            var actual = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != digest) return Results.Json(new { error = "digest mismatch" }, statusCode: 400);
            Received[digest] = total;
            return Results.StatusCode(201);
        }

        private async Task CreateAsync(HttpContext context)
        {
            var request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            var files = request["files"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
            context.Response.ContentType = "application/x-ndjson";
            var missing = files.Where(f => !Received.ContainsKey(f.Value)).Select(f => f.Key).ToList();
            async Task Line(object o)
            {
                await context.Response.WriteAsync(JsonSerializer.Serialize(o) + "\n");
                await context.Response.Body.FlushAsync();
            }
            if (missing.Count > 0)
            {
                await Line(new { error = $"open {missing[0]}: no such file or directory" });
                return;
            }
            await Line(new { status = "converting model" });
            await Line(new { status = "writing manifest" });
            _models[request["model"]!.GetValue<string>()] = files.Values.Sum(d => Received[d]);
            await Line(new { status = "success" });
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
