using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DeepExtension.Tests.Deployment;

/// <summary>Credentials in Ollama URLs: stored protected, shown masked, sent to Ollama as Basic auth.</summary>
public class OllamaCredentialsTests
{
    private const string Credentials = "alice:s3cret-pw";

    private static string WithCredentials(FakeOllamaServer ollama) => ollama.BaseUrl.Replace("http://", $"http://{Credentials}@");

    private static string Masked(FakeOllamaServer ollama) => ollama.BaseUrl.Replace("http://", "http://***@");

    private static async Task<string> RawColumnAsync(TestEnvironment env, string table, Guid id)
    {
        await using var connection = new SqliteConnection(env.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT BaseUrl FROM {table} WHERE Id = $id";
        command.Parameters.AddWithValue("$id", id.ToString().ToUpperInvariant());
        var value = await command.ExecuteScalarAsync();
        if (value is null)
        {
            command.Parameters["$id"].Value = id.ToString();
            value = await command.ExecuteScalarAsync();
        }
        return Assert.IsType<string>(value);
    }

    private static async Task<Guid> AddLegacyEnvironmentAsync(TestEnvironment env, string plainUrl)
    {
        // As an earlier version saved it: the URL with its credentials in plain text.
        await using var db = await env.DbFactory.CreateDbContextAsync();
        var now = DateTime.UtcNow;
        var environment = new DeploymentEnvironment { Id = Guid.CreateVersion7(), Name = "legacy", NameKey = "LEGACY", BaseUrl = plainUrl, IsDefault = true, CreatedAtUtc = now, UpdatedAtUtc = now };
        db.DeploymentEnvironments.Add(environment);
        await db.SaveChangesAsync();
        return environment.Id;
    }

    [Fact]
    public async Task Create_UrlWithCredentials_StoredProtectedAndShownMasked()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();

        var created = await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("proxy", WithCredentials(ollama), true));

        Assert.True(created.Succeeded, created.AllErrors);
        Assert.Equal(Masked(ollama), created.Value!.BaseUrl);
        Assert.Equal(Masked(ollama), Assert.Single(await env.DeploymentEnvironments.ListAsync()).BaseUrl);
        var raw = await RawColumnAsync(env, "DeploymentEnvironments", created.Value.Id);
        Assert.DoesNotContain("s3cret", raw);
        Assert.DoesNotContain("alice", raw);
        Assert.StartsWith("http://" + OllamaEndpoint.ProtectedPrefix, raw);
    }

    [Fact]
    public async Task Update_MaskedUrlSubmittedBack_KeepsTheStoredCredentials()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.RequiredCredentials = Credentials;
        var created = (await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("proxy", WithCredentials(ollama), true))).Value!;

        var updated = await env.DeploymentEnvironments.UpdateAsync(created.Id, new DeploymentEnvironmentInput("proxy-renamed", created.BaseUrl, true));

        Assert.True(updated.Succeeded, updated.AllErrors);
        Assert.Equal(Masked(ollama), updated.Value!.BaseUrl);
        var test = await env.DeploymentEnvironments.TestConnectionAsync(updated.Value.BaseUrl, updated.Value.Id);
        Assert.True(test.Reachable, test.Error);
    }

    [Fact]
    public async Task TestConnection_ServerRequiresBasicAuth_ReceivesTheCredentialsAndErrorsStayMasked()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.RequiredCredentials = Credentials;
        var environment = (await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("proxy", WithCredentials(ollama), true))).Value!;

        var withStored = await env.DeploymentEnvironments.TestConnectionAsync(environment.BaseUrl, environment.Id);
        var typed = await env.DeploymentEnvironments.TestConnectionAsync(WithCredentials(ollama));
        var wrong = await env.DeploymentEnvironments.TestConnectionAsync(ollama.BaseUrl.Replace("http://", "http://alice:wrong@"));

        Assert.True(withStored.Reachable, withStored.Error);
        Assert.Equal(FakeOllamaServer.Version, withStored.Version);
        Assert.True(typed.Reachable, typed.Error);
        Assert.Equal(["GET /api/version", "GET /api/version"], ollama.AuthenticatedRequests);
        Assert.False(wrong.Reachable);
        Assert.Contains("401", wrong.Error);
        Assert.Contains(Masked(ollama), wrong.Error);
        Assert.DoesNotContain("wrong", wrong.Error);
    }

    [Fact]
    public async Task DeployAndChat_ServerRequiresBasicAuth_CredentialsReachOllamaAndTheDeploymentKeepsThemProtected()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.RequiredCredentials = Credentials;
        var environment = (await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("proxy", WithCredentials(ollama), true))).Value!;

        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama, environmentId: environment.Id);
        var answer = string.Concat(await service.ChatAsync(deployment.Id, [new ChatTurn("user", "hello there")]).ToListAsync());
        var state = (await service.GetLiveStatesAsync([deployment]))[deployment.Id];

        Assert.Equal("[Answer briefly.] You said: hello there", answer);
        Assert.Equal(LiveAvailability.Loaded, state.Availability);
        Assert.Contains("POST /api/create", ollama.AuthenticatedRequests);
        Assert.Contains("POST /api/chat", ollama.AuthenticatedRequests);
        Assert.Contains("GET /api/tags", ollama.AuthenticatedRequests);
        Assert.Equal(Masked(ollama), OllamaEndpoint.Mask(deployment.BaseUrl));
        var raw = await RawColumnAsync(env, "ModelDeployments", deployment.Id);
        Assert.DoesNotContain("s3cret", raw);
        Assert.StartsWith("http://" + OllamaEndpoint.ProtectedPrefix, raw);
    }

    [Fact]
    public async Task LegacyPlainRow_StillDeploysAndIsProtectedAtStartUp()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.RequiredCredentials = Credentials;
        var legacyId = await AddLegacyEnvironmentAsync(env, WithCredentials(ollama));

        Assert.Equal(Masked(ollama), Assert.Single(await env.DeploymentEnvironments.ListAsync()).BaseUrl);
        var (_, deployment) = await DeploymentFixture.DeployedAsync(env, ollama, environmentId: legacyId);
        Assert.Contains("POST /api/create", ollama.AuthenticatedRequests);
        Assert.DoesNotContain("s3cret", await RawColumnAsync(env, "ModelDeployments", deployment.Id));

        Assert.Equal(1, await env.DeploymentEnvironments.ProtectStoredCredentialsAsync());
        Assert.Equal(0, await env.DeploymentEnvironments.ProtectStoredCredentialsAsync());
        var raw = await RawColumnAsync(env, "DeploymentEnvironments", legacyId);
        Assert.DoesNotContain("s3cret", raw);
        var test = await env.DeploymentEnvironments.TestConnectionAsync(OllamaEndpoint.Mask(raw), legacyId);
        Assert.True(test.Reachable, test.Error);
    }

    [Fact]
    public async Task ProtectStoredCredentials_LegacyDeploymentRow_IsProtectedAndStillReachesOllama()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (service, deployment) = await DeploymentFixture.DeployedAsync(env, ollama);
        await using (var db = await env.DbFactory.CreateDbContextAsync())
        {
            // An earlier version copied the plain URL into the deployment.
            var row = await db.ModelDeployments.FindAsync(deployment.Id);
            row!.BaseUrl = WithCredentials(ollama);
            await db.SaveChangesAsync();
        }
        ollama.RequiredCredentials = Credentials;

        Assert.Equal(1, await env.DeploymentEnvironments.ProtectStoredCredentialsAsync());

        Assert.DoesNotContain("s3cret", await RawColumnAsync(env, "ModelDeployments", deployment.Id));
        var answer = string.Concat(await service.ChatAsync(deployment.Id, [new ChatTurn("user", "hi")]).ToListAsync());
        Assert.Equal("[Answer briefly.] You said: hi", answer);
        Assert.Contains("POST /api/chat", ollama.AuthenticatedRequests);
    }
}
