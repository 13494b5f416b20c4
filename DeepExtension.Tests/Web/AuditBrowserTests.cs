using DeepExtension.Core.Accounts;
using DeepExtension.Core.Audit;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>The Audit and API tokens pages in a real Chromium against the real console.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AuditBrowserTests : ConsoleBrowserTest
{
    private static readonly TestAccount Member = new("member@deepx.test", "Member-Passw0rd!");

    [Fact]
    public async Task AuditPage_AdminAt1280And1440_ShowsTheTrailWithinThePageAndMembersDoNotReachIt()
    {
        var users = Host.Services.GetRequiredService<UserAdministration>();
        Assert.True((await users.CreateAsync(Member.Email, Member.Password, Roles.Member)).Succeeded);
        var dbFactory = Host.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<DeepExtension.Core.Data.DeepExtensionDbContext>>();
        var actor = new Actor(Member.Email);
        await AuditTrail.WriteAsync(dbFactory, actor, TimeProvider.System, AuditActions.Uploaded, AuditObjects.Dataset, Guid.NewGuid(),
            "<img src=x onerror=window.__x=1>", "version 1: chats.jsonl, 20 rows");
        await AuditTrail.WriteAsync(dbFactory, actor, TimeProvider.System, AuditActions.Started, AuditObjects.Train, Guid.NewGuid(),
            "a-rather-long-train-name-that-goes-on-and-on-for-a-while", "SFT on Qwen2.5-0.5B-Instruct");
        await AuditTrail.WriteAsync(dbFactory, SystemUser.Instance, TimeProvider.System, AuditActions.Deployed, AuditObjects.Deployment, Guid.NewGuid(),
            "qwen-support:latest", "qwen-support-5d2c to local");

        var page = await Chromium.OpenAsync(Host.Address, "/audit");
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.GotoAsync($"{Host.Address}/audit");
            await page.Locator("[data-interactive=true]").WaitForAsync();
            await Assertions.Expect(page.GetByTestId("audit-entry-action")).ToHaveCountAsync(4); // and the Member's creation
            await page.WaitForTimeoutAsync(300);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
                $"the Audit page is wider than the window at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"audit-{width}.png"), FullPage = true });
        }
        await Assertions.Expect(page.GetByText("<img src=x onerror=window.__x=1>")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<object?>("() => window.__x"));
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Audit" })).ToBeVisibleAsync();

        var member = await Chromium.OpenAsync(Host.Address, "/", Member);
        await member.Locator("[data-interactive=true]").WaitForAsync();
        await Assertions.Expect(member.GetByRole(AriaRole.Link, new() { Name = "Audit" })).ToHaveCountAsync(0);
        await member.GotoAsync($"{Host.Address}/audit");
        await Assertions.Expect(member.GetByTestId("audit-table")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ApiTokensPage_CreateAndRevoke_TheShownTokenWorksUntilRevoked()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/api-tokens");
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await page.GetByTestId("token-name").FillAsync("ci-pipeline");
        await page.GetByTestId("create-token").ClickAsync();
        var token = (await page.GetByTestId("new-token-value").TextContentAsync())!.Trim();
        Assert.StartsWith(ApiToken.Prefix, token);

        using var client = Host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/api/v1/trains")).StatusCode);
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"api-tokens-{width}.png"), FullPage = true });
        }

        await page.ReloadAsync();
        await page.Locator("[data-interactive=true]").WaitForAsync();
        // Shown once: after a reload the page has only its start, and the last use.
        Assert.DoesNotContain(token, await page.ContentAsync());
        await Assertions.Expect(page.GetByTestId("token-last-used")).Not.ToHaveTextAsync("never");
        await page.GetByTestId("revoke-token").ClickAsync();
        await Assertions.Expect(page.GetByTestId("token-state")).ToHaveTextAsync("Revoked");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/trains")).StatusCode);
    }

    private sealed record Actor(string Name) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => true;
    }
}
