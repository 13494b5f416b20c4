using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace DeepExtension.Core.HuggingFace;

/// <summary>One file of a repository as the Hub lists it: git blob id, size, and for LFS files their sha256.</summary>
public sealed record HubSibling(string Name, long? Size, string? BlobId, string? LfsSha256);

/// <summary>A repository at one revision: the commit it resolves to and its files.</summary>
public sealed record HubModelInfo(string Id, string Commit, bool Gated, IReadOnlyList<HubSibling> Siblings);

/// <summary>Why a Hub request failed; the ones marked transient are retried.</summary>
public enum HubFailure
{
    /// <summary>401/403 on a gated or private repository: a token (with access) is needed.</summary>
    Gated,
    NotFound,
    /// <summary>429: retried after Retry-After.</summary>
    RateLimited,
    /// <summary>5xx: retried.</summary>
    ServerError,
    /// <summary>The connection failed or dropped: retried (a download resumes with a range request).</summary>
    Transport,
    /// <summary>An answer that is not what the Hub protocol says.</summary>
    Protocol,
}

public sealed class HubException(string message, HubFailure failure, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public HubFailure Failure { get; } = failure;
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public bool IsTransient => Failure is HubFailure.RateLimited or HubFailure.ServerError or HubFailure.Transport;
}

/// <summary>An open file download: the body from <see cref="Offset"/> on (a 206 answer), or from 0 when the server ignored the range.</summary>
public sealed class HubFileResponse(HttpResponseMessage response, Stream content, long offset, string? commit) : IAsyncDisposable
{
    public Stream Content { get; } = content;
    public long Offset { get; } = offset;
    /// <summary>X-Repo-Commit of the resolve answer.</summary>
    public string? Commit { get; } = commit;

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        response.Dispose();
    }
}

/// <summary>
/// The parts of the Hugging Face Hub HTTP protocol a download needs (as huggingface_hub speaks it):
/// <c>GET /api/models/{repo}/revision/{rev}?blobs=true</c> for the commit and the files with their sizes and LFS sha256,
/// and <c>GET /{repo}/resolve/{rev}/{file}</c>, which answers small files itself and redirects LFS files to a CDN host.
/// Redirects are followed here, not by the handler, so the token never goes to another host; a range header resumes.
/// The endpoint is <see cref="HubOptions.Endpoint"/>.
/// </summary>
public sealed class HubClient(IHttpClientFactory httpClients, IOptions<DeepExtensionOptions> options)
{
    public const string HttpClientName = "HuggingFaceHub";
    private const int MaxRedirects = 5;

    public Uri Endpoint => new(options.Value.HuggingFace.Endpoint.TrimEnd('/') + "/");

    public async Task<HubModelInfo> GetModelInfoAsync(string repository, string revision, string? token, CancellationToken cancellationToken)
    {
        var uri = new Uri(Endpoint, $"api/models/{repository}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        using var response = (await SendAsync(uri, token, rangeFrom: null, repository, "", cancellationToken)).Response;
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        try
        {
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            var root = json.RootElement;
            var commit = root.TryGetProperty("sha", out var sha) ? sha.GetString() : null;
            if (string.IsNullOrEmpty(commit)) throw new HubException($"The Hub's answer for {repository} names no commit.", HubFailure.Protocol);
            var gated = root.TryGetProperty("gated", out var g) && g.ValueKind is JsonValueKind.String or JsonValueKind.True;
            var siblings = new List<HubSibling>();
            if (root.TryGetProperty("siblings", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var s in list.EnumerateArray())
                {
                    var name = s.GetProperty("rfilename").GetString()!;
                    long? size = s.TryGetProperty("size", out var sz) && sz.ValueKind == JsonValueKind.Number ? sz.GetInt64() : null;
                    var blobId = s.TryGetProperty("blobId", out var b) ? b.GetString() : null;
                    string? sha256 = null;
                    if (s.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                    {
                        sha256 = lfs.TryGetProperty("sha256", out var h) ? h.GetString() : null;
                        if (lfs.TryGetProperty("size", out var ls) && ls.ValueKind == JsonValueKind.Number) size = ls.GetInt64();
                    }
                    siblings.Add(new HubSibling(name, size, blobId, sha256));
                }
            }
            return new HubModelInfo(root.TryGetProperty("id", out var id) ? id.GetString() ?? repository : repository, commit, gated, siblings);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubException($"The Hub's answer for {repository} is not the model info it should be: {ex.Message}", HubFailure.Protocol, inner: ex);
        }
    }

    /// <summary>A small file's whole content (config.json, the weights index).</summary>
    public async Task<byte[]> GetBytesAsync(string repository, string revision, string file, string? token, CancellationToken cancellationToken)
    {
        await using var opened = await OpenFileAsync(repository, revision, file, token, 0, cancellationToken);
        using var buffer = new MemoryStream();
        try
        {
            await opened.Content.CopyToAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new HubException($"The connection to the Hub dropped while reading {file}: {ex.Message}", HubFailure.Transport, inner: ex);
        }
        return buffer.ToArray();
    }

    /// <summary>Opens <paramref name="file"/> at <paramref name="revision"/> from byte <paramref name="offset"/> on, following the redirect to the CDN.</summary>
    public async Task<HubFileResponse> OpenFileAsync(string repository, string revision, string file, string? token, long offset, CancellationToken cancellationToken)
    {
        var path = string.Join('/', file.Split('/').Select(Uri.EscapeDataString));
        var uri = new Uri(Endpoint, $"{repository}/resolve/{Uri.EscapeDataString(revision)}/{path}");
        var (response, redirectCommit) = await SendAsync(uri, token, offset > 0 ? offset : null, repository, file, cancellationToken);
        try
        {
            var commit = redirectCommit ?? (response.Headers.TryGetValues("X-Repo-Commit", out var values) ? values.FirstOrDefault() : null);
            var start = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.From ?? 0 : 0;
            if (response.StatusCode == HttpStatusCode.PartialContent && start != offset)
                throw new HubException($"The Hub answered a range request for {file} from byte {start} instead of {offset}.", HubFailure.Protocol);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return new HubFileResponse(response, stream, start, commit);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>The final answer, and the X-Repo-Commit of the Hub's redirect when there was one (the CDN does not send it).</summary>
    private async Task<(HttpResponseMessage Response, string? RedirectCommit)> SendAsync(Uri uri, string? token, long? rangeFrom, string repository, string file, CancellationToken cancellationToken)
    {
        var client = httpClients.CreateClient(HttpClientName);
        var origin = uri;
        string? firstCommit = null;
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            // The token is for the Hub only; the CDN a file redirects to gets a signed URL instead.
            if (!string.IsNullOrEmpty(token) && SameOrigin(uri, origin)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (rangeFrom is { } from) request.Headers.Range = new RangeHeaderValue(from, null);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw new HubException($"The Hub at {origin.GetLeftPart(UriPartial.Authority)} could not be reached: {ex.Message}", HubFailure.Transport, inner: ex);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new HubException($"The Hub at {origin.GetLeftPart(UriPartial.Authority)} did not answer in time.", HubFailure.Transport, inner: ex);
            }

            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                firstCommit ??= response.Headers.TryGetValues("X-Repo-Commit", out var c) ? c.FirstOrDefault() : null;
                response.Dispose();
                if (hop >= MaxRedirects) throw new HubException($"Too many redirects for {file}.", HubFailure.Protocol);
                uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                continue;
            }
            if (response.IsSuccessStatusCode) return (response, firstCommit);
            var error = ErrorOf(response, repository, file, hasToken: !string.IsNullOrEmpty(token));
            response.Dispose();
            throw error;
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static HubException ErrorOf(HttpResponseMessage response, string repository, string file, bool hasToken)
    {
        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var what = file.Length == 0 ? repository : $"{file} of {repository}";
        var status = (int)response.StatusCode;
        switch (status)
        {
            case 401 or 403 when code == "RepoNotFound":
                return new HubException($"The Hub has no repository {repository}, or it is private" +
                    (hasToken ? " and the access token has no access to it." : ": an access token with access to it is needed."), HubFailure.NotFound);
            case 401 or 403:
                return new HubException(hasToken
                    ? $"{repository} is a gated model and this access token has no access to it: accept its conditions on its Hub page with the account the token belongs to (HTTP {status})."
                    : $"{repository} is a gated model: an access token of an account that accepted its conditions is needed (HTTP {status}).", HubFailure.Gated);
            case 404 when code == "RevisionNotFound":
                return new HubException($"{repository} has no revision by that name (branch, tag or commit).", HubFailure.NotFound);
            case 404 when code == "EntryNotFound":
                return new HubException($"{what} does not exist at this revision.", HubFailure.NotFound);
            case 404:
                return new HubException($"The Hub has no {what} (HTTP 404).", HubFailure.NotFound);
            case 429:
                var after = response.Headers.RetryAfter is { } retry
                    ? retry.Delta ?? (retry.Date is { } date ? date - DateTimeOffset.UtcNow : null)
                    : null;
                return new HubException($"The Hub is rate limiting requests for {what} (HTTP 429).", HubFailure.RateLimited, after);
            case >= 500:
                return new HubException($"The Hub answered {what} with a server error (HTTP {status}).", HubFailure.ServerError);
            default:
                return new HubException($"The Hub answered {what} with HTTP {status}.", HubFailure.Protocol);
        }
    }
}
