using System.Net;
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
