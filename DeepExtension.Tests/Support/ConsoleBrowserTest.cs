using DeepExtension.Core;
using DeepExtension.Jobs.Scheduling;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A browser test's world: the real console on loopback over its own data root and database, and Debian's Chromium
/// driven by Playwright. One per test (xunit creates the class per test). Every subclass is in the outer tier.
/// </summary>
[RequiresChromium]
public abstract class ConsoleBrowserTest : IAsyncLifetime
{
    protected TestEnvironment Env { get; private set; } = null!;
    protected ConsoleHost Host { get; private set; } = null!;
    protected Browser Chromium { get; private set; } = null!;

    /// <summary>The fake Ollama on loopback, started when <see cref="WithFakeOllama"/> says so.</summary>
    protected FakeOllamaServer Ollama { get; private set; } = null!;

    /// <summary>True: a <see cref="FakeOllamaServer"/> runs beside the console for deployments, the chat and the judge.</summary>
    protected virtual bool WithFakeOllama => false;

    /// <summary>Configuration the console starts with, besides its data root (and <see cref="UiConsoleOnPostgres"/>'s).</summary>
    protected virtual IReadOnlyDictionary<string, string?>? HostSettings => null;

    /// <summary>
    /// True: the console of a cluster, on its own PostgreSQL database with its scheduler off (it only shows and queues;
    /// worker nodes run the work), configured by <see cref="UiOnlyOnPostgres"/>.
    /// </summary>
    protected virtual bool UiConsoleOnPostgres => false;

    /// <summary>The settings of a console (or any host) on <paramref name="env"/>'s PostgreSQL database with its scheduler off.</summary>
    protected static Dictionary<string, string?> UiOnlyOnPostgres(TestEnvironment env) => new()
    {
        [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = "PostgreSql",
        [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
        [JobsHostingExtensions.SchedulerEnabledKey] = "false",
    };

    public virtual async Task InitializeAsync()
    {
        Env = UiConsoleOnPostgres ? await TestEnvironment.CreateOnPostgresAsync(migrate: false) : await TestEnvironment.CreateAsync(migrate: false);
        var settings = UiConsoleOnPostgres ? UiOnlyOnPostgres(Env) : [];
        foreach (var (key, value) in HostSettings ?? new Dictionary<string, string?>()) settings[key] = value;
        Host = ConsoleHost.Start(Env.DataRoot, settings: settings.Count > 0 ? settings : null);
        Chromium = await Browser.LaunchAsync();
        if (WithFakeOllama) Ollama = await FakeOllamaServer.StartAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (WithFakeOllama) await Ollama.DisposeAsync();
        await Chromium.DisposeAsync();
        await Host.DisposeAsync();
        await Env.DisposeAsync();
    }
}
