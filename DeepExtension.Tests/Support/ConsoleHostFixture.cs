namespace DeepExtension.Tests.Support;

/// <summary>
/// The console (<see cref="ConsoleHost"/>) on loopback over a fresh data root (<see cref="TestEnvironment"/>). A test
/// class whose tests can share one takes it as <c>IClassFixture&lt;ConsoleHostFixture&gt;</c>; one whose tests need their
/// own (they lock accounts, count rows, start without an Admin) creates one per test and forwards its lifetime.
/// </summary>
public sealed class ConsoleHostFixture : IAsyncLifetime
{
    /// <summary>Migrate the database before the console starts (the console migrates it itself otherwise).</summary>
    public bool Migrate { get; init; }

    /// <summary>Start with the test Admin (<see cref="TestAccount.Admin"/>); false leaves the one-time setup link to use.</summary>
    public bool UnattendedSetup { get; init; } = true;

    public TestEnvironment Env { get; private set; } = null!;
    public ConsoleHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Env = await TestEnvironment.CreateAsync(Migrate);
        // A host that many tests share signs the same account in more often than the console's guessing limits allow a
        // person; RateLimitTests checks those limits on a host of its own.
        Host = ConsoleHost.Start(Env.DataRoot, UnattendedSetup, new Dictionary<string, string?>
        {
            ["DeepExtension:RateLimits:CredentialAttemptsPerAccount"] = "1000",
            ["DeepExtension:RateLimits:CredentialAttemptsPerAddress"] = "1000",
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Env.DisposeAsync();
    }
}
