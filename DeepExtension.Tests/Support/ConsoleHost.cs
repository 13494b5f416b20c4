using DeepExtension.Core;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Support;

/// <summary>The console's own Program served by Kestrel on a loopback port, over a test data root.</summary>
public sealed class ConsoleHost : WebApplicationFactory<Program>
{
    private readonly string _dataRoot;

    private ConsoleHost(string dataRoot) => _dataRoot = dataRoot;

    public static ConsoleHost Start(string dataRoot)
    {
        var host = new ConsoleHost(dataRoot);
        host.UseKestrel(0);
        host.StartServer();
        return host;
    }

    /// <summary>Kestrel's real address, e.g. http://127.0.0.1:41234.</summary>
    public string Address =>
        Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

    /// <summary>A plain HttpClient to the loopback address, not the in-memory test handler.</summary>
    public HttpClient CreateLoopbackClient() => new() { BaseAddress = new Uri(Address) };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting($"{DeepExtensionOptions.SectionName}:DataRoot", _dataRoot);
        builder.UseEnvironment("Development");
    }
}
