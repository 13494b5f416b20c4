using System.Net;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Accounts;

/// <summary>DNS rebinding and cross-site hub connections, tried over real HTTP against the console's defaults.</summary>
[OuterTier("starts the console host")]
public sealed class HostAndOriginTests(ConsoleHostFixture console) : IClassFixture<ConsoleHostFixture>
{
    private readonly ConsoleHostFixture _console = console;

    [Fact]
    public async Task Request_ForeignHostHeader_IsRejected()
    {
        using var client = _console.Host.CreateAnonymousClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Host = "evil.example";

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task HubNegotiation_SignedInButForeignOrigin_IsForbiddenWhileItsOwnOriginConnects()
    {
        using var client = _console.Host.CreateLoopbackClient();

        var foreign = new HttpRequestMessage(HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1");
        foreign.Headers.Add("Origin", "http://evil.example");
        var own = new HttpRequestMessage(HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1");
        own.Headers.Add("Origin", _console.Host.Address);

        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(foreign)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(own)).StatusCode);
    }
}
