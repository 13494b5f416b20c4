using System.Net;
using System.Security.Cryptography;
using DeepExtension.Core.Common;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Exceptions;

namespace DeepExtension.Core.Deployment;

/// <summary>Everything one Ollama "create" needs: the files to upload as blobs and the Modelfile fields.</summary>
public sealed record OllamaCreatePlan(
    string Model,
    IReadOnlyList<OllamaUploadFile> Files,
    IReadOnlyList<OllamaUploadFile> Adapters,
    string Template,
    string? System,
    IReadOnlyList<string> Stops,
    string? Quantize);

/// <summary>A deployment's progress: 0..1 and a line for the user.</summary>
public sealed record DeployProgress(double Fraction, string Stage);

/// <summary>A deployment step that failed, with a message meant for the user.</summary>
public class OllamaDeployException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A transfer to Ollama that made no progress for <see cref="DeploymentOptions.StallTimeoutSeconds"/>.</summary>
public sealed class OllamaStallException(string message) : OllamaDeployException(message);

/// <summary>
/// Creates a model in Ollama: hashes each file, uploads the blobs the server does not have yet (large files streamed
/// from disk), then calls /api/create with the files map, template, system prompt, stop parameters and quantization,
/// passing Ollama's status lines on as progress.
/// </summary>
public sealed class OllamaDeployer(IHttpClientFactory httpClients, OllamaEndpoint endpoint, IOptions<DeepExtensionOptions> options)
{
    /// <summary>No overall timeout: uploads and quantization of large models take long; callers cancel.</summary>
    public const string HttpClientName = "ollama-deploy";

    // Progress shares: hashing is a read of every byte, uploading another, Ollama's conversion the rest.
    private const double HashShare = 0.2;
    private const double UploadShare = 0.6;

    /// <param name="uploaded">Told of each blob once Ollama has it (it stays there whatever happens next: Ollama's API cannot delete a blob).</param>
    public async Task<long?> DeployAsync(string baseUrl, OllamaCreatePlan plan, Func<DeployProgress, Task> report, CancellationToken cancellationToken,
        Action<OllamaUploadFile>? uploaded = null)
    {
        var stall = TimeSpan.FromSeconds(Math.Max(0.1, options.Value.Deployment.StallTimeoutSeconds));
        var server = OllamaEndpoint.Mask(baseUrl);
        using var http = CreateHttpClient(baseUrl);
        using var client = new OllamaApiClient(http);
        var all = plan.Files.Concat(plan.Adapters).ToList();
        var totalBytes = Math.Max(1, all.Sum(f => f.Length));

        var digests = new Dictionary<OllamaUploadFile, string>();
        long hashed = 0;
        foreach (var file in all)
        {
            await report(new DeployProgress(HashShare * hashed / totalBytes, $"Hashing {file.Name}"));
            digests[file] = await DigestOfAsync(file.Path, cancellationToken);
            hashed += file.Length;
        }

        var missing = new List<OllamaUploadFile>();
        foreach (var file in all)
        {
            if (!await Call(() => client.IsBlobExistsAsync(digests[file], cancellationToken), baseUrl, "check a blob")) missing.Add(file);
        }
        var uploadBytes = Math.Max(1, missing.Sum(f => f.Length));
        long sent = 0;
        foreach (var file in missing)
        {
            double Fraction(long done) => HashShare + UploadShare * (sent + done) / uploadBytes;
            await report(new DeployProgress(Fraction(0), $"Uploading {file.Name} ({ByteSize.Format(file.Length)})"));
            using (var watch = new StallWatch(stall, cancellationToken))
            {
                try
                {
                    if (file.Length >= options.Value.Deployment.StreamedUploadThresholdBytes)
                    {
                        await StreamBlobAsync(http, file, digests[file],
                            done => report(new DeployProgress(Fraction(done), $"Uploading {file.Name} ({ByteSize.Format(done)} of {ByteSize.Format(file.Length)})")),
                            watch.Progressed, watch.Token);
                    }
                    else
                    {
                        var bytes = await File.ReadAllBytesAsync(file.Path, cancellationToken);
                        await Call(async () => { await client.PushBlobAsync(digests[file], bytes, watch.Token); return true; }, baseUrl, $"upload {file.Name}");
                    }
                }
                catch (Exception) when (watch.Stalled)
                {
                    throw new OllamaStallException($"The upload of {file.Name} to Ollama at {server} made no progress for {stall.TotalSeconds:0.#} s "
                        + $"(no bytes accepted, no answer); it was stopped after {ByteSize.Format(watch.LastProgress)}.");
                }
            }
            uploaded?.Invoke(file);
            sent += file.Length;
        }
        var skipped = all.Count - missing.Count;
        await report(new DeployProgress(HashShare + UploadShare,
            skipped > 0 ? $"Uploaded {missing.Count} files; {skipped} were already on the server" : $"Uploaded {missing.Count} files"));

        var request = new CreateModelRequest
        {
            Model = plan.Model,
            Files = plan.Files.ToDictionary(f => f.Name, f => digests[f]),
            Adapters = plan.Adapters.Count > 0 ? plan.Adapters.ToDictionary(f => f.Name, f => digests[f]) : null,
            Template = plan.Template,
            System = string.IsNullOrWhiteSpace(plan.System) ? null : plan.System,
            Parameters = plan.Stops.Count > 0 ? new Dictionary<string, object> { ["stop"] = plan.Stops.ToArray() } : null,
            Quantize = plan.Quantize,
            Stream = true,
        };
        string? last = null;
        using var createWatch = new StallWatch(stall, cancellationToken);
        try
        {
            await foreach (var line in client.CreateModelAsync(request, createWatch.Token))
            {
                createWatch.Progressed();
                if (line?.Status is not { Length: > 0 } status) continue;
                last = status;
                await report(new DeployProgress(status == "success" ? 1 : HashShare + UploadShare + 0.1, $"Ollama: {status}"));
            }
        }
        catch (Exception) when (createWatch.Stalled)
        {
            throw new OllamaStallException($"Ollama at {server} reported nothing about the create of {plan.Model} for {stall.TotalSeconds:0.#} s "
                + $"(last status: {last ?? "none"}); it was stopped.");
        }
        catch (Exception ex) when (IsOllamaFailure(ex, cancellationToken))
        {
            throw new OllamaDeployException($"Ollama could not create {plan.Model}: {Describe(ex)}", ex);
        }
        if (last != "success")
        {
            throw new OllamaDeployException($"Ollama ended the create of {plan.Model} without reporting success (last status: {last ?? "none"}).");
        }
        var models = await Call(() => client.ListLocalModelsAsync(cancellationToken), baseUrl, "list models");
        return models.FirstOrDefault(m => OllamaModelName.SameModel(m.Name, plan.Model))?.Size;
    }

    /// <summary>Deletes a model; false when Ollama does not know it.</summary>
    public async Task<bool> DeleteAsync(string baseUrl, string model, CancellationToken cancellationToken)
    {
        using var http = CreateHttpClient(baseUrl);
        using var client = new OllamaApiClient(http);
        try
        {
            await client.DeleteModelAsync(model, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException { StatusCode: HttpStatusCode.NotFound } || ex.Message.Contains("not found", StringComparison.OrdinalIgnoreCase) && ex is OllamaException or ResponseError)
        {
            return false;
        }
        catch (Exception ex) when (IsOllamaFailure(ex, cancellationToken))
        {
            throw new OllamaDeployException($"Ollama at {OllamaEndpoint.Mask(baseUrl)} could not delete {model}: {Describe(ex)}", ex);
        }
    }

    public HttpClient CreateHttpClient(string baseUrl)
    {
        var http = httpClients.CreateClient(HttpClientName);
        endpoint.Configure(http, baseUrl);
        return http;
    }

    /// <summary>"sha256:" and the lowercase hex SHA-256 of the file, read in a stream.</summary>
    public static async Task<string> DigestOfAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken);
        return "sha256:" + Convert.ToHexStringLower(hash);
    }

    /// <summary>POST /api/blobs/sha256:… with the file as a stream: constant memory for any size.</summary>
    private static async Task StreamBlobAsync(HttpClient http, OllamaUploadFile file, string digest, Func<long, Task> progress, Action<long> onWrite, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        using var content = new ProgressStreamContent(stream, progress, onWrite);
        content.Headers.ContentLength = file.Length;
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync($"api/blobs/{digest}", content, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new OllamaDeployException($"Uploading {file.Name} to Ollama failed: {ex.Message}", ex);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new OllamaDeployException($"Ollama refused {file.Name} ({(int)response.StatusCode}): {ErrorText(body)}");
            }
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call, string baseUrl, string what)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || ex is TaskCanceledException { InnerException: TimeoutException })
        {
            if (ex is OllamaDeployException) throw;
            throw new OllamaDeployException($"Could not {what} on Ollama at {OllamaEndpoint.Mask(baseUrl)}: {Describe(ex)}", ex);
        }
    }

    private static bool IsOllamaFailure(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && ex is HttpRequestException or OllamaException or ResponseError or System.Text.Json.JsonException or InvalidOperationException or OperationCanceledException;

    private static string Describe(Exception ex) => ex switch
    {
        HttpRequestException { StatusCode: { } status } http => $"{(int)status} {status}: {ErrorText(http.Message)}",
        _ => ErrorText(ex.Message),
    };

    /// <summary>Ollama answers errors as {"error": "..."}: show the message, not the JSON.</summary>
    private static string ErrorText(string body)
    {
        var text = body.Trim();
        if (text.StartsWith('{'))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(text);
                if (doc.RootElement.TryGetProperty("error", out var error) && error.GetString() is { } message) return message;
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        return text.Length > 500 ? text[..500] : text;
    }

    /// <summary>
    /// Cancels <see cref="Token"/> when <see cref="Progressed"/> has not been called for the stall time (or the caller
    /// cancels); <see cref="Stalled"/> tells the two apart.
    /// </summary>
    private sealed class StallWatch : IDisposable
    {
        private readonly CancellationTokenSource _source;
        private readonly CancellationToken _caller;
        private readonly TimeSpan _stall;

        public StallWatch(TimeSpan stall, CancellationToken caller)
        {
            _stall = stall;
            _caller = caller;
            _source = CancellationTokenSource.CreateLinkedTokenSource(caller);
            _source.CancelAfter(stall);
        }

        public CancellationToken Token => _source.Token;

        public bool Stalled => _source.IsCancellationRequested && !_caller.IsCancellationRequested;

        /// <summary>Bytes (or lines) got through as of the last progress.</summary>
        public long LastProgress { get; private set; }

        public void Progressed(long total = -1)
        {
            if (total >= 0) LastProgress = total;
            if (!_source.IsCancellationRequested) _source.CancelAfter(_stall);
        }

        public void Dispose() => _source.Dispose();
    }

    /// <summary>Reports how many bytes went out while the request body streams from disk.</summary>
    private sealed class ProgressStreamContent(Stream source, Func<long, Task> progress, Action<long>? onWrite) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream target, TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = new byte[1 << 20];
            long sent = 0;
            var lastReport = Environment.TickCount64;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                sent += read;
                // Every write feeds the stall watch; the user sees a line at most every 500 ms.
                onWrite?.Invoke(sent);
                if (Environment.TickCount64 - lastReport > 500)
                {
                    lastReport = Environment.TickCount64;
                    await progress(sent);
                }
            }
        }

        protected override Task SerializeToStreamAsync(Stream target, TransportContext? context) =>
            SerializeToStreamAsync(target, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = source.Length;
            return true;
        }
    }
}
