using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeepExtension.Core.Datasets;
using DeepExtension.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DeepExtension.Tests.Faults;

/// <summary>Issue 13, fault 2: the database refusing writes (its file made immutable).</summary>
[OuterTier("starts the console host")]
public sealed class DatabaseFaultTests
{
    [Fact]
    public async Task Health_DatabaseFileImmutable_ReportsUnhealthyWithTheReasonThenRecovers()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        await using var host = ConsoleHost.Start(env.DataRoot);
        using var client = host.CreateLoopbackClient();
        Assert.Equal("Healthy", await HealthAsync(client, HttpStatusCode.OK));

        using (UnwritableDatabase.Make(env.Directories.DefaultSqliteFile))
        {
            using var body = JsonDocument.Parse(await client.GetStringAsyncAllowingFailure("/health", HttpStatusCode.ServiceUnavailable));
            Assert.Equal("Unhealthy", body.RootElement.GetProperty("status").GetString());
            var database = body.RootElement.GetProperty("checks").GetProperty("database");
            Assert.Equal("Unhealthy", database.GetProperty("status").GetString());
            Assert.StartsWith("The database refuses writes:", database.GetProperty("description").GetString());
            Assert.Contains("readonly", database.GetProperty("description").GetString());
        }

        Assert.Equal("Healthy", await HealthAsync(client, HttpStatusCode.OK));
    }

    [Fact]
    public async Task Datasets_ReadDuringWriteOutage_FirstWriteAfterItIsStored()
    {
        await using var env = await TestEnvironment.CreateAsync();
        SqliteConnection.ClearAllPools(); // The next operation opens a connection of its own, during the outage.
        using (UnwritableDatabase.Make(env.Directories.DefaultSqliteFile))
        {
            // SQLite opens the immutable file read-only without a word; the connection goes back to the pool.
            Assert.NotEmpty(await env.TrainingMethods.ListAsync());
        }

        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(TrainingHost.TwentyChats()));
        var upload = await env.Datasets.CreateAsync("after-outage", null, new DatasetUpload(content, "chats.jsonl"));
        Assert.True(upload.Succeeded, upload.AllErrors);
        Assert.Single(await env.Datasets.ListAsync(), d => d.Name == "after-outage");
    }

    [Fact]
    public async Task Api_DatabaseFileImmutable_TokenReadsKeepWorkingAndErrorsAreProblems()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        await using var host = ConsoleHost.Start(env.DataRoot);
        using var anonymous = host.CreateAnonymousClient();
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "reader", expiresInDays = 7 }) };
        create.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestAccount.Admin.Email}:{TestAccount.Admin.Password}")));
        using var created = await anonymous.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var client = host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());

        using (UnwritableDatabase.Make(env.Directories.DefaultSqliteFile))
        {
            SqliteConnection.ClearAllPools(); // New connections open the immutable file read-only.
            // The token's first use falls in the outage: its "last used" cannot be written, the read still answers.
            for (var request = 0; request < 3; request++)
            {
                using var trains = await client.GetAsync("/api/v1/trains");
                Assert.Equal(HttpStatusCode.OK, trains.StatusCode);
            }
        }

        // Malformed JSON and an address nothing answers: problem details, never an HTML page or an empty body.
        using var malformed = await client.PostAsync("/api/v1/base-models", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);
        using var unknown = await client.GetAsync("/api/v1/no-such-thing");
        Assert.True((int)unknown.StatusCode >= 400, $"{unknown.StatusCode}");
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<string?> HealthAsync(HttpClient client, HttpStatusCode expected)
    {
        using var body = JsonDocument.Parse(await client.GetStringAsyncAllowingFailure("/health", expected));
        return body.RootElement.GetProperty("status").GetString();
    }
}

internal static class HealthClientExtensions
{
    public static async Task<string> GetStringAsyncAllowingFailure(this HttpClient client, string path, HttpStatusCode expected)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{path} answered {(int)response.StatusCode}, expected {(int)expected}: {text}");
        return text;
    }
}
