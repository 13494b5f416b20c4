using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Core;

public class DeploymentEnvironmentServiceTests
{
    [Fact]
    public async Task Create_FirstEnvironment_BecomesDefaultAndUrlIsNormalized()
    {
        await using var env = await TestEnvironment.CreateAsync();

        var result = await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("local", " http://localhost:11434/ ", false));

        Assert.True(result.Succeeded, result.AllErrors);
        var stored = Assert.Single(await env.DeploymentEnvironments.ListAsync());
        Assert.True(stored.IsDefault);
        Assert.Equal("http://localhost:11434", stored.BaseUrl);
    }

    [Fact]
    public async Task Create_NewDefault_ClearsThePreviousDefault()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("a", "http://a:11434", true));

        await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("b", "http://b:11434", true));

        var all = await env.DeploymentEnvironments.ListAsync();
        Assert.Equal(["b"], all.Where(e => e.IsDefault).Select(e => e.Name));
    }

    [Fact]
    public async Task Delete_TheDefault_PromotesAnotherEnvironment()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var a = (await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("a", "http://a:11434", true))).Value!;
        await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("b", "http://b:11434", false));

        await env.DeploymentEnvironments.DeleteAsync(a.Id);

        var remaining = Assert.Single(await env.DeploymentEnvironments.ListAsync());
        Assert.True(remaining.IsDefault);
    }

    [Theory]
    [InlineData("", "localhost", "required")]
    [InlineData("x", "", "required")]
    [InlineData("x", "localhost:11434", "absolute http")]
    [InlineData("x", "ftp://host", "absolute http")]
    [InlineData("x", "http://host?x=1", "query")]
    public async Task Create_InvalidInput_IsExplainedAndNotSaved(string name, string url, string reason)
    {
        await using var env = await TestEnvironment.CreateAsync();

        var result = await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput(name, url, false));

        Assert.Contains(reason, result.AllErrors);
        Assert.Empty(await env.DeploymentEnvironments.ListAsync());
    }

    [Fact]
    public async Task Create_DuplicateNameInOtherCase_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("Local", "http://a:11434", false));

        var result = await env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("local", "http://b:11434", false));

        Assert.Contains("already exists", string.Join(" ", result.ErrorsFor(DeploymentEnvironmentService.NameField)));
    }

    [Fact]
    public async Task TestConnection_OllamaServerOnLoopback_ReportsItsVersion()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();

        var result = await env.DeploymentEnvironments.TestConnectionAsync(ollama.BaseUrl);

        Assert.True(result.Reachable, result.Error);
        Assert.Equal(FakeOllamaServer.Version, result.Version);
    }

    [Fact]
    public async Task TestConnection_NothingListening_ReportsAClearError()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var closedPort = TestPorts.FreeLoopbackPort();

        var result = await env.DeploymentEnvironments.TestConnectionAsync($"http://127.0.0.1:{closedPort}");

        Assert.False(result.Reachable);
        Assert.StartsWith($"Could not reach Ollama at http://127.0.0.1:{closedPort}", result.Error);
    }

    [Fact]
    public async Task TestConnection_ServerThatIsNotOllama_SaysSo()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();

        var result = await env.DeploymentEnvironments.TestConnectionAsync(ollama.BaseUrl + "/not-ollama");

        Assert.False(result.Reachable);
        Assert.Contains("404", result.Error);
    }
}
