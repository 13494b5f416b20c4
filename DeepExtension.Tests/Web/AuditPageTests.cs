using Bunit;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Audit;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace DeepExtension.Tests.Web;

public sealed class AuditPageTests : ComponentTestContext
{
    private sealed record TestUser(string Name) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => true;
    }

    private async Task SeedAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await AuditTrail.WriteAsync(Env.DbFactory, new TestUser(i % 2 == 0 ? "ann@deepx.test" : "bob@deepx.test"), TimeProvider.System,
                i % 3 == 0 ? AuditActions.Deleted : AuditActions.Uploaded, AuditObjects.Dataset, Guid.NewGuid(), $"set-{i}", "version 1");
        }
    }

    [Fact]
    public async Task AuditPage_Filters_ShowOnlyMatchingEntries()
    {
        await SeedAsync(6);
        Services.AddSingleton(new AuditTrail(Env.DbFactory));
        Render<MudPopoverProvider>();
        var page = Render<Audit>();
        page.WaitForAssertion(() => Assert.Equal(6, page.FindAll("[data-testid=audit-entry-action]").Count));

        var action = page.FindComponents<MudSelect<string>>().Single(s => Equals(s.Instance.UserAttributes.GetValueOrDefault("data-testid"), "audit-action"));
        await page.InvokeAsync(() => action.Instance.ValueChanged.InvokeAsync(AuditActions.Deleted));
        page.WaitForAssertion(() => Assert.Equal([AuditActions.Deleted, AuditActions.Deleted],
            page.FindAll("[data-testid=audit-entry-action]").Select(e => e.TextContent.Trim())));

        var user = page.FindComponents<MudSelect<string>>().Single(s => Equals(s.Instance.UserAttributes.GetValueOrDefault("data-testid"), "audit-user"));
        await page.InvokeAsync(() => user.Instance.ValueChanged.InvokeAsync("bob@deepx.test"));
        // set-3 is bob's only deletion.
        page.WaitForAssertion(() => Assert.Equal("set-3", page.Find("[data-testid=audit-object-name]").TextContent.Trim()));
        Assert.Contains("1–1 of 1", page.Find("[data-testid=audit-range]").TextContent);
    }

    [Fact]
    public async Task AuditPage_ManyEntries_PagesThemFiftyAtATime()
    {
        await SeedAsync(Audit.PageSize + 5);
        Services.AddSingleton(new AuditTrail(Env.DbFactory));
        var page = Render<Audit>();

        page.WaitForAssertion(() => Assert.Equal(Audit.PageSize, page.FindAll("[data-testid=audit-entry-action]").Count));
        Assert.Contains($"1–50 of 55", page.Find("[data-testid=audit-range]").TextContent);
        // Newest first: the last written is at the top.
        Assert.Equal($"set-{Audit.PageSize + 4}", page.Find("[data-testid=audit-object-name]").TextContent.Trim());
    }
}
