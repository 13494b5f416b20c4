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

    private UserManager<ApplicationUser> Users() =>
        _console.Host.Services.CreateScope().ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();

    /// <summary>Posts the setup form to <paramref name="postPath"/> with the antiforgery token of the form at <paramref name="formPath"/>.</summary>
    private static async Task<HttpResponseMessage> PostSetupAsync(HttpClient client, string postPath, string formPath)
    {
        var html = await client.GetStringAsync(formPath);
        var token = WebUtility.HtmlDecode(Antiforgery().Match(html).Groups[1].Value);
        return await client.PostAsync(postPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "setup",
            ["__RequestVerificationToken"] = token,
            ["Input.Email"] = "first@deepx.test",
            ["Input.Password"] = "First-Passw0rd!",
            ["Input.Confirm"] = "First-Passw0rd!",
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();
}
