using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Tests.Support;

/// <summary>
/// An HTTP server on loopback that answers like Ollama does (Ollama cannot be installed here), with Ollama's paths,
/// status codes and JSON shapes for the parts of the API the console uses: version, blobs (HEAD/POST with the digest
/// checked against the body), create (streamed NDJSON status lines, errors inside the stream), tags, ps, delete and
/// streamed chat. It records what it received and can be told to fail.
/// </summary>
public sealed partial class FakeOllamaServer : IAsyncDisposable
{
    public const string Version = "0.12.6";

    private static readonly string[] Quantizations = ["q8_0", "q4_k_m", "q4_k_s"];

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new();
    private readonly ConcurrentDictionary<string, FakeModel> _models = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _loaded = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string> _authenticated = new();
    private readonly ConcurrentQueue<JsonObject> _creates = new();
    private readonly ConcurrentQueue<BlobUpload> _uploads = new();

    private FakeOllamaServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    /// <summary>"METHOD /path" of every request, in order.</summary>
    public IReadOnlyList<string> Requests => _requests.ToList();

    /// <summary>The bodies of the /api/create requests received.</summary>
    public IReadOnlyList<JsonObject> CreateRequests => _creates.ToList();

    /// <summary>Blob uploads the server accepted (digest verified).</summary>
    public IReadOnlyList<BlobUpload> Uploads => _uploads.ToList();

    public IReadOnlyCollection<string> BlobDigests => _blobs.Keys.ToList();

    public IReadOnlyCollection<string> ModelNames => _models.Values.Select(m => m.Name).ToList();

    /// <summary>
    /// When set ("user:password"), every request must carry it as HTTP Basic credentials, as an Ollama behind a reverse
    /// proxy with Basic auth requires; others are answered 401.
    /// </summary>
    public string? RequiredCredentials { get; set; }

    /// <summary>"METHOD /path" of the requests that carried the <see cref="RequiredCredentials"/>.</summary>
    public IReadOnlyList<string> AuthenticatedRequests => _authenticated.ToList();

    /// <summary>When set, the next create streams a few status lines and then this error, and creates nothing.</summary>
    public string? FailNextCreateWith { get; set; }

    /// <summary>When set, the next create is answered with this error after the model was written (a late failure).</summary>
    public string? FailNextCreateAfterWritingWith { get; set; }

    /// <summary>
    /// The stall switch: when set, a blob upload reads this many bytes of the body and then stops reading and answering,
    /// as a server whose disk hangs does, until the client gives up (see <see cref="StalledUploads"/>).
    /// </summary>
    public long? StallBlobUploadsAfterBytes { get; set; }

    /// <summary>With the stall switch on, only uploads whose Content-Length exceeds this stall (the weights, not the small files before them).</summary>
    public long StallOnlyBodiesOver { get; set; }

    /// <summary>Uploads the stall switch held: the digest, the bytes read before stalling, and whether the client then hung up.</summary>
    public IReadOnlyList<StalledUpload> StalledUploads => _stalled.ToList();

    private readonly ConcurrentQueue<StalledUpload> _stalled = new();

    /// <summary>Delay between streamed create lines, so a test (or a person) can watch progress.</summary>
    public TimeSpan CreateLineDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Scripts /api/chat: given the model's name and the last user message, the whole reply (streamed word by word as
    /// before), or null for the default echo. A test teaches it a behaviour, e.g. a deterministic judge.
    /// </summary>
    public Func<string, string, string?>? ChatReply { get; set; }

    /// <summary>
    /// The pause after each streamed /api/chat piece, by model name (10 ms when unset), so a test can watch answers of
    /// several models grow at their own pace.
    /// </summary>
    public Func<string, TimeSpan>? ChatPieceDelay { get; set; }

    public byte[]? BlobContent(string digest) => _blobs.TryGetValue(digest, out var bytes) ? bytes : null;

    public JsonObject? CreateRequestFor(string model) =>
        _models.TryGetValue(Normalize(model), out var found) ? found.Request : null;

    /// <summary>Adds a model as if someone had pulled it, e.g. to test name clashes.</summary>
    public void AddExistingModel(string name) =>
        _models[Normalize(name)] = new FakeModel(Normalize(name), new JsonObject { ["model"] = name }, 1234, "sha256:" + new string('0', 64), DateTimeOffset.UtcNow, "llama", "Q4_0");

    /// <summary>Removes a model behind the console's back.</summary>
    public void RemoveModel(string name) => _models.TryRemove(Normalize(name), out _);

    public static async Task<FakeOllamaServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // Uploads of real models are large; Kestrel's default body limit (30 MB) is not Ollama's.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        var app = builder.Build();
        FakeOllamaServer? server = null;
        app.Use(async (context, next) =>
        {
            var line = $"{context.Request.Method} {context.Request.Path}";
            server!._requests.Enqueue(line);
            if (server.RequiredCredentials is { } required)
            {
                var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(required));
                if (context.Request.Headers.Authorization.ToString() != expected)
                {
                    context.Response.StatusCode = 401;
                    context.Response.Headers.WWWAuthenticate = "Basic realm=\"ollama\"";
                    return;
                }
                server._authenticated.Enqueue(line);
            }
            await next(context);
        });
        app.MapGet("/", () => Results.Text("Ollama is running"));
        app.MapGet("/api/version", () => Results.Json(new { version = Version }));
        app.MapMethods("/api/blobs/{digest}", ["HEAD"], (string digest) => server!.HeadBlob(digest));
        app.MapPost("/api/blobs/{digest}", (string digest, HttpRequest request) => server!.PostBlobAsync(digest, request));
        app.MapPost("/api/create", (HttpContext context) => server!.CreateAsync(context));
        app.MapGet("/api/tags", () => server!.Tags());
        app.MapGet("/api/ps", () => server!.Running());
        app.MapDelete("/api/delete", (HttpRequest request) => server!.DeleteAsync(request));
        app.MapPost("/api/chat", (HttpContext context) => server!.ChatAsync(context));
        await app.StartAsync();
        server = new FakeOllamaServer(app, app.Urls.First());
        return server;
    }

    private IResult HeadBlob(string digest)
    {
        if (!DigestPattern().IsMatch(digest)) return Error(400, "invalid digest format");
        return _blobs.ContainsKey(digest) ? Results.Ok() : Results.NotFound();
    }

    private async Task<IResult> PostBlobAsync(string digest, HttpRequest request)
    {
        if (!DigestPattern().IsMatch(digest)) return Error(400, "invalid digest format");
        if (StallBlobUploadsAfterBytes is { } stallAfter && (request.ContentLength ?? long.MaxValue) > StallOnlyBodiesOver)
        {
            var aborted = request.HttpContext.RequestAborted;
            var buffer = new byte[8192];
            long read = 0;
            int n;
            while (read < stallAfter && (n = await request.Body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, stallAfter - read)), aborted)) > 0) read += n;
            try
            {
                await Task.Delay(Timeout.Infinite, aborted);
            }
            catch (OperationCanceledException)
            {
            }
            _stalled.Enqueue(new StalledUpload(digest, read, aborted.IsCancellationRequested));
            return Results.Empty;
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var actual = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body.ToArray()));
        if (actual != digest) return Error(400, "digest mismatch");
        _blobs[digest] = body.ToArray();
        _uploads.Enqueue(new BlobUpload(digest, body.Length, request.ContentLength));
        return Results.StatusCode(201);
    }

    private async Task CreateAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body))?.AsObject() ?? [];
        _creates.Enqueue(request);
        var name = (request["model"] ?? request["name"])?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(name) || !NamePattern().IsMatch(name))
        {
            await WriteErrorAsync(context, 400, "invalid model name");
            return;
        }
        var quantize = request["quantize"]?.GetValue<string>();
        if (quantize is not null && !Quantizations.Contains(quantize.ToLowerInvariant()))
        {
            await WriteErrorAsync(context, 400, $"unsupported quantization type {quantize}");
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-ndjson";
        var files = Digests(request["files"]);
        var adapters = Digests(request["adapters"]);
        var missing = files.Concat(adapters).Where(f => !_blobs.ContainsKey(f.Value)).Select(f => f.Key).ToList();
        if (missing.Count > 0)
        {
            await WriteLineAsync(context, new JsonObject { ["error"] = $"open {missing[0]}: no such file or directory" });
            return;
        }
        if (!files.ContainsKey("config.json") || !files.Keys.Any(f => f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            await WriteLineAsync(context, new JsonObject { ["error"] = "neither 'from' or 'files' was specified" });
            return;
        }
        var config = JsonNode.Parse(_blobs[files["config.json"]])!;
        var family = config["model_type"]?.GetValue<string>() ?? "unknown";
        if (adapters.Count > 0 && family is not ("llama" or "gemma2"))
        {
            await WriteLineAsync(context, new JsonObject { ["error"] = $"unsupported architecture \"{family}\" for adapter" });
            return;
        }

        await WriteLineAsync(context, new JsonObject { ["status"] = "converting model" });
        if (FailNextCreateWith is { } failure)
        {
            FailNextCreateWith = null;
            await WriteLineAsync(context, new JsonObject { ["error"] = failure });
            return;
        }
        if (adapters.Count > 0) await WriteLineAsync(context, new JsonObject { ["status"] = "converting adapter" });
        if (quantize is not null)
        {
            await WriteLineAsync(context, new JsonObject { ["status"] = $"quantizing F16 model to {quantize.ToUpperInvariant()}" });
        }
        foreach (var digest in files.Values.Concat(adapters.Values).Distinct())
        {
            await WriteLineAsync(context, new JsonObject { ["status"] = $"creating new layer {digest}" });
        }
        await WriteLineAsync(context, new JsonObject { ["status"] = "writing manifest" });

        var rawSize = files.Values.Concat(adapters.Values).Distinct().Sum(d => (long)_blobs[d].Length);
        var size = quantize?.ToLowerInvariant() switch
        {
            "q8_0" => rawSize / 2,
            "q4_k_m" or "q4_k_s" => rawSize / 4,
            _ => rawSize,
        };
        var level = quantize?.ToUpperInvariant() ?? "F16";
        var manifest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.ToJsonString())));
        _models[Normalize(name)] = new FakeModel(Normalize(name), request, size, manifest, DateTimeOffset.UtcNow, family, level);
        if (FailNextCreateAfterWritingWith is { } late)
        {
            FailNextCreateAfterWritingWith = null;
            await WriteLineAsync(context, new JsonObject { ["error"] = late });
            return;
        }
        await WriteLineAsync(context, new JsonObject { ["status"] = "success" });
    }

    private IResult Tags() => Results.Json(new JsonObject
    {
        ["models"] = new JsonArray(_models.Values.OrderBy(m => m.Name).Select(m => (JsonNode)Describe(m)).ToArray()),
    });

    private IResult Running() => Results.Json(new JsonObject
    {
        ["models"] = new JsonArray(_models.Values.Where(m => _loaded.ContainsKey(m.Name)).Select(m =>
        {
            var entry = Describe(m);
            entry.Remove("modified_at");
            entry["expires_at"] = _loaded[m.Name].ToString("O");
            entry["size_vram"] = m.Size;
            entry["context_length"] = 4096;
            return (JsonNode)entry;
        }).ToArray()),
    });

    private async Task<IResult> DeleteAsync(HttpRequest httpRequest)
    {
        var request = (await JsonNode.ParseAsync(httpRequest.Body))?.AsObject() ?? [];
        var name = (request["model"] ?? request["name"])?.GetValue<string>() ?? "";
        if (!_models.TryRemove(Normalize(name), out _)) return Error(404, $"model '{name}' not found");
        _loaded.TryRemove(Normalize(name), out _);
        return Results.Ok();
    }

    private async Task ChatAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body))?.AsObject() ?? [];
        var name = request["model"]?.GetValue<string>() ?? "";
        if (!_models.TryGetValue(Normalize(name), out var model))
        {
            await WriteErrorAsync(context, 404, $"model \"{name}\" not found, try pulling it first");
            return;
        }
        _loaded[model.Name] = DateTimeOffset.UtcNow.AddMinutes(5);
        var messages = request["messages"]?.AsArray() ?? [];
        var last = messages.LastOrDefault(m => m?["role"]?.GetValue<string>() == "user")?["content"]?.GetValue<string>() ?? "";
        var system = model.Request["system"]?.GetValue<string>();
        // A deterministic answer that shows what reached the model: the baked-in system prompt and the user's words.
        var answer = ChatReply?.Invoke(model.Name, last) ?? $"{(system is null ? "" : $"[{system}] ")}You said: {last}";
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-ndjson";
        foreach (var piece in Regex.Split(answer, @"(?<=\s)"))
        {
            if (piece.Length == 0) continue;
            await WriteLineAsync(context, new JsonObject
            {
                ["model"] = name,
                ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = piece },
                ["done"] = false,
            });
            await Task.Delay(ChatPieceDelay?.Invoke(model.Name) ?? TimeSpan.FromMilliseconds(10));
        }
        await WriteLineAsync(context, new JsonObject
        {
            ["model"] = name,
            ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "" },
            ["done"] = true,
            ["done_reason"] = "stop",
            ["total_duration"] = 1000000,
            ["eval_count"] = 5,
        });
    }

    private static JsonObject Describe(FakeModel m) => new()
    {
        ["name"] = m.Name,
        ["model"] = m.Name,
        ["modified_at"] = m.ModifiedAt.ToString("O"),
        ["size"] = m.Size,
        ["digest"] = m.Digest["sha256:".Length..],
        ["details"] = new JsonObject
        {
            ["parent_model"] = "",
            ["format"] = "gguf",
            ["family"] = m.Family,
            ["families"] = new JsonArray(m.Family),
            ["parameter_size"] = "1M",
            ["quantization_level"] = m.QuantizationLevel,
        },
    };

    private static Dictionary<string, string> Digests(JsonNode? map) =>
        map is JsonObject o ? o.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>()) : [];

    private async Task WriteLineAsync(HttpContext context, JsonObject line)
    {
        await context.Response.WriteAsync(line.ToJsonString() + "\n");
        await context.Response.Body.FlushAsync();
        if (CreateLineDelay > TimeSpan.Zero && line.ContainsKey("status")) await Task.Delay(CreateLineDelay);
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["error"] = message }.ToJsonString());
    }

    private static IResult Error(int status, string message) =>
        Results.Json(new JsonObject { ["error"] = message }, statusCode: status);

    private static string Normalize(string name)
    {
        var text = name.Trim().ToLowerInvariant();
        var slash = text.LastIndexOf('/');
        return text.IndexOf(':', slash + 1) < 0 ? text + ":latest" : text;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex DigestPattern();

    [GeneratedRegex(@"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,79}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,79}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?$")]
    private static partial Regex NamePattern();

    public sealed record BlobUpload(string Digest, long Length, long? ContentLength);

    public sealed record StalledUpload(string Digest, long BytesRead, bool ClientHungUp);

    private sealed record FakeModel(string Name, JsonObject Request, long Size, string Digest, DateTimeOffset ModifiedAt, string Family, string QuantizationLevel);
}
