using System.Net;
using System.Net.Sockets;
using System.Text;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Accounts;

/// <summary>"Test connection" may not become a port scanner: one answer for every failure, except to Admins.</summary>
public sealed class ConnectionTestTests : IAsyncLifetime
{
    private TestEnvironment _env = null!;

    public async Task InitializeAsync() => _env = await TestEnvironment.CreateAsync();

    public async Task DisposeAsync() => await _env.DisposeAsync();

    private DeploymentEnvironmentService As(string role) => new(_env.DbFactory, _env.HttpClients, _env.OllamaEndpoint, TimeProvider.System, new TestUser($"{role}@deepx.test", role));

    [Fact]
    public async Task TestConnection_RefusedNotFoundAndNotOllama_OneAnswerForMembersAndViewersDetailsForAdmins()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        using var html = new TcpListener(IPAddress.Loopback, 0);
        html.Start();
        var serving = ServeHtmlAsync(html);
        var addresses = new[] { "http://127.0.0.1:1", $"{ollama.BaseUrl}/not-here", $"http://127.0.0.1:{((IPEndPoint)html.LocalEndpoint).Port}" };

        foreach (var role in new[] { Roles.Member, Roles.Viewer })
        {
            foreach (var address in addresses)
            {
                var result = await As(role).TestConnectionAsync(address);
                Assert.Equal((false, DeploymentEnvironmentService.UniformFailure), (result.Reachable, result.Error));
            }
            Assert.True((await As(role).TestConnectionAsync(ollama.BaseUrl)).Reachable);
        }
        var adminAnswers = new List<string?>();
        foreach (var address in addresses) adminAnswers.Add((await As(Roles.Admin).TestConnectionAsync(address)).Error);
        Assert.Equal(3, adminAnswers.Distinct().Count());
        Assert.DoesNotContain(DeploymentEnvironmentService.UniformFailure, adminAnswers);
        html.Stop();
        await serving;
    }

    /// <summary>A web server that is not Ollama: every request gets a small HTML page.</summary>
    private static async Task ServeHtmlAsync(TcpListener listener)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var buffer = new byte[4096];
                if (await stream.ReadAsync(buffer) == 0) continue;
                var body = "<html><body>router login</body></html>";
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped.
        }
    }

    private sealed record TestUser(string Name, string Role) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => role == Role;
    }
}
