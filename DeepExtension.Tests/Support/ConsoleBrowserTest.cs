namespace DeepExtension.Tests.Support;

/// <summary>
/// A browser test's world: the real console on loopback over its own data root and database, and Debian's Chromium
/// driven by Playwright. One per test (xunit creates the class per test).
/// </summary>
public abstract class ConsoleBrowserTest : IAsyncLifetime
{
    protected TestEnvironment Env { get; private set; } = null!;
    protected ConsoleHost Host { get; private set; } = null!;
    protected Browser Chromium { get; private set; } = null!;

    /// <summary>Configuration the console starts with, besides its data root.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? HostSettings => null;

    public virtual async Task InitializeAsync()
    {
        Env = await TestEnvironment.CreateAsync(migrate: false);
        Host = ConsoleHost.Start(Env.DataRoot, settings: HostSettings);
        Chromium = await Browser.LaunchAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await Chromium.DisposeAsync();
        await Host.DisposeAsync();
        await Env.DisposeAsync();
    }
}
