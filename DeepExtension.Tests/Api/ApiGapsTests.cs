using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Api;

/// <summary>What scripts could not do with a token: cancel a deployment, read /health, download logs and evaluation results.</summary>
public sealed class ApiGapsTests : IAsyncLifetime
{
    private TestEnvironment _env = null!;
    private ConsoleHost _host = null!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync();
        // No scheduler: a deployment stays queued until cancelled.
        _host = ConsoleHost.Start(_env.DataRoot, settings: new Dictionary<string, string?> { ["DeepExtension:Scheduler:Enabled"] = "false" });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _env.DisposeAsync();
    }

    private async Task<HttpClient> WithTokenAsync()
    {
        using var anonymous = _host.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "script", expiresInDays = 7 }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestAccount.Admin.Email}:{TestAccount.Admin.Password}")));
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var client = _host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        return client;
    }

    [Fact]
    public async Task CancelDeployment_QueuedOne_EndsCancelledAndAnUnknownOneIsAProblem()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(_env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(_env, ollama.BaseUrl);
        var service = _host.Services.GetRequiredService<DeploymentService>();
        var id = (await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "queued", OllamaQuantization.None))).Value!.Id;
        using var client = await WithTokenAsync();

        using var cancelled = await client.PostAsync($"/api/v1/deployments/{id}/cancel", null);
        using var unknown = await client.PostAsync($"/api/v1/deployments/{Guid.NewGuid()}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        Assert.Equal($"/api/v1/deployments/{id}", cancelled.Headers.Location?.OriginalString);
        Assert.Equal(WorkStatus.Cancelled, (await service.GetAsync(id))!.Status);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Token_OpensHealthAndTheDownloads()
    {
        using var client = await WithTokenAsync();

        using var health = await client.GetAsync("/health");
        using var log = await client.GetAsync($"/api/runs/{Guid.NewGuid()}/log");
        using var csv = await client.GetAsync($"/api/evaluations/{Guid.NewGuid()}/results.csv");
        using var jsonl = await client.GetAsync($"/api/evaluations/{Guid.NewGuid()}/results.jsonl");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        // Signed in by the token: the unknown ids are simply not found.
        Assert.Equal(HttpStatusCode.NotFound, log.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, csv.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, jsonl.StatusCode);
        using var anonymous = _host.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/health")).StatusCode);
    }
}
