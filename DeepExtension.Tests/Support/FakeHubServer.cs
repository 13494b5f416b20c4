using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace DeepExtension.Tests.Support;

/// <summary>
/// An HTTP server on loopback that answers like the Hugging Face Hub (which cannot be reached here), with the Hub's
/// paths, headers and status codes for what a download uses: <c>GET /api/models/{repo}/revision/{rev}?blobs=true</c>
/// (commit, siblings with size, blobId and lfs {sha256, size, pointerSize}, gated), and <c>GET /{repo}/resolve/{rev}/{file}</c>
/// with X-Repo-Commit and ETag, answering small files itself and redirecting LFS files (302, X-Linked-Etag,
/// X-Linked-Size) to a second, CDN-like host that serves byte ranges. Errors carry X-Error-Code as the Hub's do
/// (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo). It records the byte ranges it served, and can be told
/// per test to demand a token, rate limit (429 with Retry-After), corrupt a byte, drop a connection mid-file or serve slowly.
/// </summary>
public sealed class FakeHubServer : IAsyncDisposable
{
    private readonly WebApplication _api;
    private readonly WebApplication _cdn;
    private readonly ConcurrentDictionary<string, FakeRepository> _repositories = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<ServedRange> _served = new();
    private readonly ConcurrentDictionary<string, long> _dropAfter = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _corrupt = new(StringComparer.Ordinal);
    private int _rateLimited;

    private FakeHubServer(WebApplication api, WebApplication cdn)
    {
        _api = api;
        _cdn = cdn;
    }

    /// <summary>The Hub's address (what DeepExtension:HuggingFace:Endpoint points at).</summary>
    public string Endpoint => _api.Urls.First();

    /// <summary>The CDN-like host LFS files redirect to.</summary>
    public string CdnUrl => _cdn.Urls.First();

    /// <summary>"HOST METHOD /path" of every request, in order (HOST is "hub" or "cdn").</summary>
    public IReadOnlyList<string> Requests => _requests.ToList();

    /// <summary>Every body the server sent (or began to send) for a file: which bytes, and how many went out.</summary>
    public IReadOnlyList<ServedRange> Served => _served.ToList();

    /// <summary>The Authorization headers received, for checking that the token never reaches the CDN.</summary>
    public ConcurrentQueue<(string Host, string? Authorization)> Authorizations { get; } = new();

    /// <summary>When set, the CDN sends file bodies at about this many bytes per second (to watch or interrupt a transfer).</summary>
    public int? BytesPerSecond { get; set; }

    /// <summary>
    /// The next <paramref name="count"/> resolve requests (of <paramref name="file"/> only, when given) are answered 429
    /// with Retry-After: <paramref name="retryAfterSeconds"/>.
    /// </summary>
    public void RateLimitNext(int count, int retryAfterSeconds = 1, string? file = null)
    {
        _rateLimitedFile = file;
        RetryAfterSeconds = retryAfterSeconds;
        Volatile.Write(ref _rateLimited, count);
    }

    private volatile string? _rateLimitedFile;

    public int RetryAfterSeconds { get; private set; } = 1;

    /// <summary>The next body of <paramref name="file"/> stops after <paramref name="bytes"/> bytes and the connection is aborted.</summary>
    public void DropConnectionOnce(string file, long bytes) => _dropAfter[file] = bytes;

    /// <summary>Every body of <paramref name="file"/> has the byte at <paramref name="offset"/> flipped (a damaged mirror).</summary>
    public void CorruptByte(string file, long offset) => _corrupt[file] = offset;

    public void StopCorrupting(string file) => _corrupt.TryRemove(file, out _);

    /// <summary>
    /// Publishes a repository with the files of <paramref name="folder"/> (only the top level) plus <paramref name="extraFiles"/>.
    /// Files ending in .safetensors/.bin/.pt/.pth/.ckpt are LFS files, as the Hub's default .gitattributes makes them.
    /// </summary>
    public FakeRepository AddRepository(string id, string? folder = null, IReadOnlyDictionary<string, byte[]>? extraFiles = null,
        string? requiredToken = null, Func<string, bool>? include = null)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (folder is not null)
        {
            foreach (var path in Directory.GetFiles(folder).Where(p => include?.Invoke(Path.GetFileName(p)) ?? true))
                files[Path.GetFileName(path)] = File.ReadAllBytes(path);
        }
        foreach (var (name, bytes) in extraFiles ?? new Dictionary<string, byte[]>()) files[name] = bytes;
        files.TryAdd(".gitattributes", Encoding.UTF8.GetBytes("*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"));
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + string.Join(",", files.Keys.Order()))));
        var repository = new FakeRepository(id, commit, files, requiredToken);
        _repositories[id] = repository;
        return repository;
    }

    public static async Task<FakeHubServer> StartAsync()
    {
        FakeHubServer? server = null;
        var api = Build();
        api.Use(async (context, next) =>
        {
            server!._requests.Enqueue($"hub {context.Request.Method} {context.Request.Path}{context.Request.QueryString}");
            server.Authorizations.Enqueue(("hub", context.Request.Headers.Authorization.FirstOrDefault()));
            await next(context);
        });
        api.MapGet("/api/models/{owner}/{name}/revision/{revision}", (string owner, string name, string revision, HttpContext context) =>
            server!.ModelInfo($"{owner}/{name}", revision, context));
        api.MapMethods("/{owner}/{name}/resolve/{revision}/{**file}", ["GET", "HEAD"], (string owner, string name, string revision, string file, HttpContext context) =>
            server!.ResolveAsync($"{owner}/{name}", revision, file, context));

        var cdn = Build();
        cdn.Use(async (context, next) =>
        {
            server!._requests.Enqueue($"cdn {context.Request.Method} {context.Request.Path}");
            server.Authorizations.Enqueue(("cdn", context.Request.Headers.Authorization.FirstOrDefault()));
            await next(context);
        });
        cdn.MapGet("/repos/{owner}/{name}/{sha256}", (string owner, string name, string sha256, HttpContext context) =>
            server!.CdnAsync($"{owner}/{name}", sha256, context));

        await api.StartAsync();
        await cdn.StartAsync();
        server = new FakeHubServer(api, cdn);
        return server;
    }

    private static WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        return builder.Build();
    }

    private IResult ModelInfo(string id, string revision, HttpContext context)
    {
        if (!_repositories.TryGetValue(id, out var repository)) return HubError(401, "RepoNotFound", "Repository not found");
        if (!repository.HasRevision(revision)) return HubError(404, "RevisionNotFound", $"Invalid rev id: {revision}");
        var blobs = context.Request.Query["blobs"] == "true";
        var siblings = new JsonArray();
        foreach (var (name, bytes) in repository.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var sibling = new JsonObject { ["rfilename"] = name };
            if (blobs)
            {
                var isLfs = FakeRepository.IsLfs(name);
                sibling["blobId"] = isLfs ? GitBlobId(Encoding.UTF8.GetBytes(repository.PointerOf(name))) : GitBlobId(bytes);
                sibling["size"] = bytes.Length;
                if (isLfs)
                {
                    sibling["lfs"] = new JsonObject
                    {
                        ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                        ["size"] = bytes.Length,
                        ["pointerSize"] = Encoding.UTF8.GetByteCount(repository.PointerOf(name)),
                    };
                }
            }
            siblings.Add(sibling);
        }
        // Gated repositories' metadata is public on the Hub; their files are not.
        return Results.Json(new JsonObject
        {
            ["_id"] = repository.Commit[..24],
            ["id"] = id,
            ["modelId"] = id,
            ["sha"] = repository.Commit,
            ["private"] = false,
            ["gated"] = repository.RequiredToken is null ? false : "manual",
            ["disabled"] = false,
            ["siblings"] = siblings,
        });
    }

    private async Task ResolveAsync(string id, string revision, string file, HttpContext context)
    {
        if (!_repositories.TryGetValue(id, out var repository)) { await WriteAsync(context, HubError(401, "RepoNotFound", "Repository not found")); return; }
        if (repository.RequiredToken is { } required)
        {
            var given = context.Request.Headers.Authorization.FirstOrDefault();
            if (given is null)
            {
                await WriteAsync(context, HubError(401, "GatedRepo", $"Access to model {id} is restricted. You must have access to it and be authenticated to access it. Please log in."));
                return;
            }
            if (given != $"Bearer {required}")
            {
                await WriteAsync(context, HubError(403, "GatedRepo", $"Access to model {id} is restricted and you are not in the authorized list."));
                return;
            }
        }
        if (!repository.HasRevision(revision)) { await WriteAsync(context, HubError(404, "RevisionNotFound", $"Invalid rev id: {revision}")); return; }
        if (!repository.Files.TryGetValue(file, out var bytes)) { await WriteAsync(context, HubError(404, "EntryNotFound", $"{file} does not exist")); return; }
        if ((_rateLimitedFile is null || _rateLimitedFile == file) && TakeRateLimit())
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteAsync(context, HubError(429, null, "You have exceeded our hourly quotas for action: resolve."));
            return;
        }
        context.Response.Headers["X-Repo-Commit"] = repository.Commit;
        if (FakeRepository.IsLfs(file))
        {
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
            context.Response.Headers["X-Linked-Etag"] = $"\"{sha256}\"";
            context.Response.Headers["X-Linked-Size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers.ETag = $"\"{sha256}\"";
            // A signed CDN URL: the Hub redirects, the CDN serves the bytes (and needs no token).
            context.Response.Headers.Location = $"{CdnUrl}/repos/{id}/{sha256}?response-content-disposition=attachment&X-Amz-Signature=fake";
            context.Response.StatusCode = 302;
            return;
        }
        context.Response.Headers.ETag = $"\"{GitBlobId(bytes)}\"";
        await ServeBytesAsync(context, file, bytes);
    }

    private async Task CdnAsync(string id, string sha256, HttpContext context)
    {
        if (!_repositories.TryGetValue(id, out var repository)) { context.Response.StatusCode = 404; return; }
        var file = repository.Files.FirstOrDefault(f => FakeRepository.IsLfs(f.Key) && Convert.ToHexStringLower(SHA256.HashData(f.Value)) == sha256);
        if (file.Key is null) { context.Response.StatusCode = 404; return; }
        context.Response.Headers.ETag = $"\"{sha256}\"";
        await ServeBytesAsync(context, file.Key, file.Value);
    }

    /// <summary>Serves the whole file (200) or the asked range (206), with the faults the test switched on.</summary>
    private async Task ServeBytesAsync(HttpContext context, string file, byte[] bytes)
    {
        context.Response.Headers.AcceptRanges = "bytes";
        long from = 0, to = bytes.Length - 1;
        var range = context.Request.GetTypedHeaders().Range;
        if (range is { Unit.Value: "bytes", Ranges.Count: 1 } && range.Ranges.First() is { } asked)
        {
            from = asked.From ?? Math.Max(0, bytes.Length - asked.To!.Value);
            to = asked.From is null ? bytes.Length - 1 : Math.Min(asked.To ?? bytes.Length - 1, bytes.Length - 1);
            if (from >= bytes.Length)
            {
                context.Response.StatusCode = 416;
                context.Response.Headers.ContentRange = $"bytes */{bytes.Length}";
                return;
            }
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = new ContentRangeHeaderValue(from, to, bytes.Length).ToString();
        }
        var length = to - from + 1;
        context.Response.ContentLength = length;
        context.Response.ContentType = "application/octet-stream";
        if (HttpMethods.IsHead(context.Request.Method)) return;

        var body = bytes.AsSpan((int)from, (int)length).ToArray();
        if (_corrupt.TryGetValue(file, out var corruptAt) && corruptAt >= from && corruptAt <= to) body[corruptAt - from] ^= 0xFF;
        long? dropAfter = _dropAfter.TryRemove(file, out var drop) ? drop - from : null;
        long sent = 0;
        const int chunk = 16 * 1024;
        try
        {
            while (sent < length)
            {
                var n = (int)Math.Min(chunk, length - sent);
                if (dropAfter is { } limit && sent + n > limit) n = (int)Math.Max(0, limit - sent);
                if (n > 0)
                {
                    await context.Response.Body.WriteAsync(body.AsMemory((int)sent, n));
                    await context.Response.Body.FlushAsync();
                    sent += n;
                }
                if (dropAfter is { } stop && sent >= stop)
                {
                    context.Abort();
                    return;
                }
                if (BytesPerSecond is { } rate) await Task.Delay(TimeSpan.FromSeconds(n / (double)rate));
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client went away (a cancel or a stop): what went out is recorded below.
        }
        finally
        {
            _served.Enqueue(new ServedRange(file, from, sent));
        }
    }

    private bool TakeRateLimit()
    {
        while (true)
        {
            var left = Volatile.Read(ref _rateLimited);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref _rateLimited, left - 1, left) == left) return true;
        }
    }

    private static IResult HubError(int status, string? code, string message) => new HubErrorResult(status, code, message);

    private static Task WriteAsync(HttpContext context, IResult result) => result.ExecuteAsync(context);

    /// <summary>git's object id of a blob: sha1("blob &lt;size&gt;\0" + content).</summary>
    public static string GitBlobId(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _cdn.DisposeAsync();
    }

    private sealed class HubErrorResult(int status, string? code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            if (code is not null) context.Response.Headers["X-Error-Code"] = code;
            context.Response.Headers["X-Error-Message"] = message;
            return context.Response.WriteAsJsonAsync(new { error = message });
        }
    }
}

/// <summary>What the fake Hub sent for one request of a file: from which byte, and how many bytes went out.</summary>
public sealed record ServedRange(string File, long From, long Bytes);

/// <summary>A repository the fake Hub publishes, at one commit reachable as "main", as its full id and as its short id.</summary>
public sealed class FakeRepository(string id, string commit, IReadOnlyDictionary<string, byte[]> files, string? requiredToken)
{
    public string Id { get; } = id;
    public string Commit { get; } = commit;
    public IReadOnlyDictionary<string, byte[]> Files { get; } = files;
    public string? RequiredToken { get; } = requiredToken;

    public static bool IsLfs(string name) =>
        new[] { ".safetensors", ".bin", ".pt", ".pth", ".ckpt" }.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase);

    public bool HasRevision(string revision) => revision == "main" || revision == Commit || (revision.Length >= 7 && Commit.StartsWith(revision, StringComparison.Ordinal));

    /// <summary>The git-lfs pointer file the repository's git tree holds in place of a large file.</summary>
    public string PointerOf(string name) =>
        $"version https://git-lfs.github.com/spec/v1\noid sha256:{Convert.ToHexStringLower(SHA256.HashData(Files[name]))}\nsize {Files[name].Length}\n";
}
