using System.Net;
using DeepExtension.Core.Accounts;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Accounts;

/// <summary>
/// A role change, a password change, a lockout and a deletion end every session of that user at its next HTTP request,
/// over the real cookie API (a signed-in HttpClient against the console on loopback).
/// </summary>
public sealed class SessionEndTests : IAsyncLifetime
{
    private static readonly TestAccount Member = new("member@deepx.test", "Member-Passw0rd!");

    private TestEnvironment _env = null!;
    private ConsoleHost _host = null!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync(migrate: false);
        _host = ConsoleHost.Start(_env.DataRoot);
        var created = await _host.Services.GetRequiredService<UserAdministration>().CreateAsync(Member.Email, Member.Password, Roles.Member);
        Assert.True(created.Succeeded, created.AllErrors);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _env.DisposeAsync();
    }

    public static TheoryData<string> Changes => ["role", "password", "lockout", "deletion"];

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task Change_ToTheUser_EndsTheirOpenSessionsAtTheNextRequest(string change)
    {
        using var first = _host.CreateLoopbackClient(Member);
        using var second = _host.CreateLoopbackClient(Member);
        using var admin = _host.CreateLoopbackClient();
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health")).StatusCode);

        await ApplyAsync(change);

        Assert.Equal(HttpStatusCode.Unauthorized, (await first.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.GetAsync("/api/v1/base-models")).StatusCode);
        // Pages send the ended session to the sign-in form, and the stale cookie stays refused.
        Assert.Equal(AccountsHostingExtensions.SignInPath, await FinalPathAsync(first, "/datasets"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await first.GetAsync("/health")).StatusCode);
        // Only that user's sessions end.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task RoleChange_SigningInAgain_GetsTheNewRole()
    {
        using var before = _host.CreateLoopbackClient(Member);
        Assert.Equal("/nodes", await FinalPathAsync(before, "/nodes"));

        await ApplyAsync("role");
        using var after = _host.CreateLoopbackClient(Member);

        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync("/health")).StatusCode);
        Assert.Equal(AccountsHostingExtensions.SignInPath, await FinalPathAsync(before, "/nodes"));
        // Members may open the Nodes page; the Viewer they are now may not.
        Assert.Equal(AccountsHostingExtensions.AccessDeniedPath, await FinalPathAsync(after, "/nodes"));
    }

    /// <summary>Where a browser-like GET of <paramref name="path"/> ends up after redirects.</summary>
    private static async Task<string> FinalPathAsync(HttpClient client, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        return response.RequestMessage!.RequestUri!.AbsolutePath;
    }

    private async Task ApplyAsync(string change)
    {
        var administration = _host.Services.GetRequiredService<UserAdministration>();
        var id = (await administration.ListAsync()).Single(u => u.Email == Member.Email).Id;
        switch (change)
        {
            case "role":
                var demoted = await administration.SetRoleAsync(id, Roles.Viewer);
                Assert.True(demoted.Succeeded, demoted.AllErrors);
                break;
            case "password":
                await using (var scope = _host.Services.CreateAsyncScope())
                {
                    var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
                    var changed = await users.ChangePasswordAsync((await users.FindByIdAsync(id))!, Member.Password, "Changed-Passw0rd!");
                    Assert.True(changed.Succeeded);
                }
                break;
            case "lockout":
                using (var attacker = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(_host.Address) })
                {
                    for (var attempt = 0; attempt < 5; attempt++)
                    {
                        using var failed = await (Member with { Password = "not-the-password" }).SignInAsync(attacker, attacker.BaseAddress!);
                    }
                }
                Assert.Contains(await administration.ListAsync(), u => u.Id == id && u.LockedOut);
                break;
            case "deletion":
                var deleted = await administration.DeleteAsync(id);
                Assert.True(deleted.Succeeded, deleted.AllErrors);
                break;
        }
    }
}
