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
    private readonly string? _adminEmail;
    private readonly string? _adminPassword;

    private readonly IReadOnlyDictionary<string, string?> _settings;

    private ConsoleHost(string dataRoot, bool unattendedSetup, IReadOnlyDictionary<string, string?>? settings)
    {
        _dataRoot = dataRoot;
        _settings = settings ?? new Dictionary<string, string?>();
        (_adminEmail, _adminPassword) = unattendedSetup ? (TestAccount.Admin.Email, TestAccount.Admin.Password) : (null, null);
    }

    /// <summary>
    /// Starts the console; with <paramref name="unattendedSetup"/> (the default) the Admin <see cref="TestAccount.Admin"/> exists.
    /// <paramref name="settings"/> adds configuration (the Hub endpoint, another database, the scheduler off, ...).
    /// </summary>
    public static ConsoleHost Start(string dataRoot, bool unattendedSetup = true, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = new ConsoleHost(dataRoot, unattendedSetup, settings);
        host.UseKestrel(0);
        host.StartServer();
        return host;
    }

    /// <summary>Kestrel's real address, e.g. http://127.0.0.1:41234.</summary>
    public string Address =>
        Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

    /// <summary>
    /// An HttpClient to the loopback address (not the in-memory test handler), signed in as <paramref name="account"/>
    /// (the Admin created at start-up unless told) before its first request.
    /// </summary>
    public HttpClient CreateLoopbackClient(TestAccount? account = null) =>
        new(new SignInOnFirstRequestHandler(new Uri(Address), account ?? TestAccount.Admin)) { BaseAddress = new Uri(Address) };

    /// <summary>An HttpClient to the loopback address that never signs in (and does not follow redirects).</summary>
    public HttpClient CreateAnonymousClient() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(Address) };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting($"{DeepExtensionOptions.SectionName}:DataRoot", _dataRoot);
        // The unattended set-up: the first Admin exists from the start (tests that need the setup link clear these).
        builder.UseSetting("DeepExtension:Setup:AdminEmail", _adminEmail);
        builder.UseSetting("DeepExtension:Setup:AdminPassword", _adminPassword);
        builder.UseEnvironment("Development");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
    }
}
