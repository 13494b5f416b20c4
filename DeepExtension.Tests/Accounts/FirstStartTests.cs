using System.Net;
using System.Text.RegularExpressions;
using DeepExtension.Core.Accounts;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Accounts;

/// <summary>A console started without the unattended set-up: only the one-time link creates the first Admin.</summary>
[OuterTier("starts the console host")]
public sealed partial class FirstStartTests : IAsyncLifetime
{
    private readonly ConsoleHostFixture _console = new() { UnattendedSetup = false };

    public Task InitializeAsync() => _console.InitializeAsync();

    public Task DisposeAsync() => _console.DisposeAsync();

    [Fact]
    public async Task SetupLink_OnlyTheWrittenToken_CreatesTheFirstAdminOnce()
    {
        var linkFile = Path.Combine(_console.Env.DataRoot, FirstAdminSetup.LinkFileName);
        Assert.True(File.Exists(linkFile));
        var link = new Uri(File.ReadAllText(linkFile).Trim());
        Assert.StartsWith(_console.Host.Address + "/account/setup?token=", link.ToString());
        // A credential: readable by the console's user only.
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(linkFile));
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(_console.Host.Address) };

        var signInPage = await client.GetStringAsync("/account/sign-in");
        Assert.Contains("data-testid=\"setup-hint\"", signInPage);
        var guessed = await client.GetStringAsync("/account/setup?token=guessed");
        Assert.Contains("This setup link is not valid", guessed);
        Assert.DoesNotContain("name=\"Input.Password\"", guessed);
        using (var forged = await PostSetupAsync(client, "/account/setup?token=guessed", link.PathAndQuery))
        {
            Assert.Empty(Users().Users);
        }

        using var created = await PostSetupAsync(client, link.PathAndQuery, link.PathAndQuery);

        var admin = Assert.Single(Users().Users);
        Assert.Equal("first@deepx.test", admin.Email);
        Assert.True(await Users().IsInRoleAsync(admin, Roles.Admin));
        Assert.False(File.Exists(linkFile));
        // Signed in by the setup: the console opens.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.Contains("This setup link is not valid", await client.GetStringAsync(link.PathAndQuery));
    }

    [Fact]
    public async Task SetupLink_SixSimultaneousPosts_CreateExactlyOneAdmin()
    {
        var link = new Uri(File.ReadAllText(Path.Combine(_console.Env.DataRoot, FirstAdminSetup.LinkFileName)).Trim());
        var clients = Enumerable.Range(0, 6)
            .Select(_ => new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(_console.Host.Address) })
            .ToList();
        // Every form is loaded first, so the six posts leave together.
        var forms = await Task.WhenAll(clients.Select(c => FormTokenAsync(c, link.PathAndQuery)));

        var responses = await Task.WhenAll(clients.Select((c, i) => PostSetupAsync(c, link.PathAndQuery, forms[i], $"racer{i}@deepx.test")));

        var admin = Assert.Single(Users().Users);
        Assert.StartsWith("racer", admin.Email);
        foreach (var response in responses) response.Dispose();
        foreach (var client in clients) client.Dispose();
    }

    [Fact]
    public async Task SetupLink_RefusedInput_LeavesTheLinkWorking()
    {
        var link = new Uri(File.ReadAllText(Path.Combine(_console.Env.DataRoot, FirstAdminSetup.LinkFileName)).Trim());
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(_console.Host.Address) };

        using (var weak = await PostSetupAsync(client, link.PathAndQuery, await FormTokenAsync(client, link.PathAndQuery), "first@deepx.test", "alllowercase"))
        {
            Assert.Empty(Users().Users);
        }
        using var created = await PostSetupAsync(client, link.PathAndQuery, await FormTokenAsync(client, link.PathAndQuery), "first@deepx.test");

        Assert.Equal("first@deepx.test", Assert.Single(Users().Users).Email);
    }

    private UserManager<ApplicationUser> Users() =>
        _console.Host.Services.CreateScope().ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();

    /// <summary>Posts the setup form to <paramref name="postPath"/> with the antiforgery token of the form at <paramref name="formPath"/>.</summary>
    private static async Task<HttpResponseMessage> PostSetupAsync(HttpClient client, string postPath, string formPath) =>
        await PostSetupAsync(client, postPath, await FormTokenAsync(client, formPath), "first@deepx.test");

    private static async Task<string> FormTokenAsync(HttpClient client, string formPath) =>
        WebUtility.HtmlDecode(Antiforgery().Match(await client.GetStringAsync(formPath)).Groups[1].Value);

    private static Task<HttpResponseMessage> PostSetupAsync(HttpClient client, string postPath, string antiforgeryToken, string email, string password = "First-Passw0rd!") =>
        client.PostAsync(postPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "setup",
            ["__RequestVerificationToken"] = antiforgeryToken,
            ["Input.Email"] = email,
            ["Input.Password"] = password,
            ["Input.Confirm"] = password,
        }));

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();
}
