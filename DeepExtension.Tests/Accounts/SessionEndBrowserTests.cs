using System.Text.RegularExpressions;
using DeepExtension.Core.Accounts;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Accounts;

/// <summary>
/// An open page (a live Blazor circuit) whose user is demoted acts with the new rights at its very next event: here the
/// idle re-check is an hour away, so only the check before each event can stop the demoted Admin.
/// </summary>
public sealed class SessionEndBrowserTests : ConsoleBrowserTest
{
    protected override IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        [$"{SessionOptions.SectionName}:RevalidationInterval"] = "01:00:00",
    };

    [Fact]
    public async Task DemotedAdmin_OpenUsersPage_CannotAddAnAdminAndIsSentToSignIn()
    {
        var administration = Host.Services.GetRequiredService<UserAdministration>();
        var second = new TestAccount("second-admin@deepx.test", "Second-Passw0rd!");
        Assert.True((await administration.CreateAsync(second.Email, second.Password, Roles.Admin)).Succeeded);
        var page = await Chromium.OpenAsync(Host.Address, "/users", second);
        await page.GetByTestId("new-user-email").FillAsync("intruder@deepx.test");
        await page.GetByTestId("new-user-password").FillAsync("Intruder-Passw0rd!");

        var id = (await administration.ListAsync()).Single(u => u.Email == second.Email).Id;
        Assert.True((await administration.SetRoleAsync(id, Roles.Viewer)).Succeeded);
        await page.GetByTestId("add-user").ClickAsync();

        await page.WaitForURLAsync(new Regex("/account/sign-in"));
        Assert.DoesNotContain(await administration.ListAsync(), u => u.Email == "intruder@deepx.test");
    }
}

/// <summary>An open page that sends nothing is sent to the sign-in form soon after its user's session ends.</summary>
public sealed class IdleSessionEndBrowserTests : ConsoleBrowserTest
{
    public static TheoryData<string> Changes => ["deletion", "lockout"];

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task IdlePage_UserDeletedOrLockedOut_GoesToSignIn(string change)
    {
        var administration = Host.Services.GetRequiredService<UserAdministration>();
        var member = new TestAccount("member@deepx.test", "Member-Passw0rd!");
        Assert.True((await administration.CreateAsync(member.Email, member.Password, Roles.Member)).Succeeded);
        var page = await Chromium.OpenAsync(Host.Address, "/datasets", member);
        var id = (await administration.ListAsync()).Single(u => u.Email == member.Email).Id;

        if (change == "deletion")
        {
            Assert.True((await administration.DeleteAsync(id)).Succeeded);
        }
        else
        {
            using var attacker = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = new Uri(Host.Address) };
            for (var attempt = 0; attempt < 5; attempt++)
            {
                using var failed = await (member with { Password = "not-the-password" }).SignInAsync(attacker, attacker.BaseAddress!);
            }
        }

        // Nothing is clicked: the circuit's periodic re-check (every 10 s by default) ends the session.
        await page.WaitForURLAsync(new Regex("/account/sign-in"), new() { Timeout = 60_000 });
        Assert.Contains("ReturnUrl=%2Fdatasets", page.Url);
    }
}
