using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Api;

/// <summary>/api/v1 says what it means: 405 for a method a route lacks, ISO 8601 times with their offset, train deletion.</summary>
public sealed class ApiMeaningTests : IAsyncLifetime
{
    private TestEnvironment _env = null!;
    private ConsoleHost _host = null!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync(migrate: false);
        _host = ConsoleHost.Start(_env.DataRoot);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _env.DisposeAsync();
    }

    private async Task<HttpClient> AdminAsync()
    {
        using var anonymous = _host.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "meaning", expiresInDays = 7 }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestAccount.Admin.Email}:{TestAccount.Admin.Password}")));
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var client = _host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        return client;
    }

    private static async Task<JsonElement> ProblemOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        return problem;
    }

    [Fact]
    public async Task UnsupportedMethod_ValidToken_Answers405WithAllowAndProblemDetails()
    {
        using var client = await AdminAsync();

        using var put = await client.PutAsJsonAsync("/api/v1/trains", new { });

        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.Superset(new HashSet<string> { "GET", "POST" }, put.Content.Headers.Allow.ToHashSet());
        Assert.DoesNotContain("PUT", put.Content.Headers.Allow);
        var problem = await ProblemOf(put);
        Assert.Contains("PUT is not supported on /api/v1/trains", problem.GetProperty("detail").GetString());

        using var delete = await client.DeleteAsync("/api/v1/base-models");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        await ProblemOf(delete);

        // Without credentials the credentials are what is wrong: still a 401, with its problem details.
        using var anonymous = _host.CreateAnonymousClient();
        using var unauthenticated = await anonymous.PutAsJsonAsync("/api/v1/trains", new { });
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        await ProblemOf(unauthenticated);
    }

    [Fact]
    public async Task Timestamps_EveryResponse_Iso8601WithItsOffset()
    {
        await ComparedRunsFixture.CreateAsync(_env);
        using var client = await AdminAsync();

        var trains = (await client.GetFromJsonAsync<JsonElement>("/api/v1/trains")).EnumerateArray().ToList();
        var tokens = (await client.GetFromJsonAsync<JsonElement>("/api/v1/tokens")).EnumerateArray().ToList();

        Assert.Equal(3, trains.Count);
        var times = trains.SelectMany(t => new[] { "createdAtUtc", "startedAtUtc", "finishedAtUtc" }.Select(p => t.GetProperty(p)))
            .Concat(tokens.SelectMany(t => new[] { "createdAtUtc", "expiresAtUtc" }.Select(p => t.GetProperty(p))))
            .Where(v => v.ValueKind != JsonValueKind.Null).Select(v => v.GetString()!).ToList();
        Assert.True(times.Count >= 8, string.Join(", ", times));
        Assert.All(times, time =>
        {
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", time);
            Assert.True(DateTimeOffset.TryParse(time, out var parsed) && parsed.Offset == TimeSpan.Zero, time);
        });
    }

    [Fact]
    public async Task DeleteTrain_FinishedOnesGoWithTheirFolderModelsStayRunningOneIsRefused()
    {
        var trio = await ComparedRunsFixture.CreateAsync(_env);
        using var client = await AdminAsync();
        var folderOf = (Guid id) => Path.Combine(_env.DataRoot, "runs", id.ToString("N"));
        Assert.True(Directory.Exists(folderOf(trio.Base.Id)));

        using var running = await client.DeleteAsync($"/api/v1/trains/{trio.Hotter.Id}");
        Assert.Equal(HttpStatusCode.BadRequest, running.StatusCode);
        Assert.Contains("cannot be deleted while it runs. Cancel it first.", (await ProblemOf(running)).GetProperty("detail").GetString());
        Assert.True(Directory.Exists(folderOf(trio.Hotter.Id)));

        using var deleted = await client.DeleteAsync($"/api/v1/trains/{trio.Base.Id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(Directory.Exists(folderOf(trio.Base.Id)));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/trains/{trio.Base.Id}")).StatusCode);
        // The customized model made from it stays, with its adapter.
        var models = (await client.GetFromJsonAsync<JsonElement>("/api/v1/customized-models")).EnumerateArray().ToList();
        var model = Assert.Single(models, m => m.GetProperty("name").GetString() == trio.AdapterName);
        Assert.Equal(trio.Base.Id.ToString(), model.GetProperty("trainId").GetString());
        var adapters = new CustomizedModelService(_env.DbFactory, _env.Directories, TimeProvider.System);
        Assert.True(Directory.Exists(adapters.FolderOf((await adapters.ListAsync()).Single())));
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/api/v1/trains")).GetArrayLength());

        using var again = await client.DeleteAsync($"/api/v1/trains/{trio.Base.Id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        await ProblemOf(again);
    }
}
