using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Tests.Support;

/// <summary>
/// An HTTP server on loopback that answers like Ollama does (Ollama cannot be installed here).
/// It speaks the parts of the API the console uses, with Ollama's paths and JSON shapes.
/// </summary>
public sealed class FakeOllamaServer : IAsyncDisposable
{
    public const string Version = "0.12.6";

    private readonly WebApplication _app;

    private FakeOllamaServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public static async Task<FakeOllamaServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/api/version", () => Results.Json(new { version = Version }));
        app.MapGet("/", () => Results.Text("Ollama is running"));
        await app.StartAsync();
        var address = app.Urls.First();
        return new FakeOllamaServer(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
