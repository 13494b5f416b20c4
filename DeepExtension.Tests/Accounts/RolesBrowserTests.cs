using System.Text;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Accounts;

/// <summary>Roles as people meet them in Chromium: navigation, the Users page, refusals, and names that look like markup.</summary>
public sealed class RolesBrowserTests : ConsoleBrowserTest
{
    private const string Markup = "<img src=x onerror=window.__x=1>";

    private async Task<TestAccount> AddUserAsync(string email, string role)
    {
        var account = new TestAccount(email, "Role-Passw0rd!");
        var created = await Host.Services.GetRequiredService<UserAdministration>().CreateAsync(account.Email, account.Password, role);
        Assert.True(created.Succeeded, created.AllErrors);
        return account;
    }

    [Fact]
    public async Task Viewer_SignedIn_HasNoAdminPagesAndIsRefusedRegisteringABaseModel()
    {
        var viewer = await AddUserAsync("viewer@deepx.test", Roles.Viewer);
        var path = Env.AddModelFolder("tiny-qwen2");
        var page = await Chromium.OpenAsync(Host.Address, "/base-models", viewer);

        await Assertions.Expect(page.Locator("a[href='/base-models']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("a[href='/deployment-tools']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("a[href='/users']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("a[href='/nodes']")).ToHaveCountAsync(0);
        await page.GetByTestId("add-base-model").ClickAsync();
        await page.GetByTestId("technical-name").FillAsync("tiny-qwen2");
        await page.GetByTestId("model-name").FillAsync("Tiny Qwen2");
        await page.GetByTestId("model-path").FillAsync(path);
        await page.GetByTestId("save-base-model").ClickAsync();

        await Assertions.Expect(page.GetByText(Access.ViewerMessage).First).ToBeVisibleAsync();
        Assert.Empty(await Host.Services.GetRequiredService<BaseModelService>().ListAsync());
        await page.GotoAsync("/users");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/denied"));
        await Assertions.Expect(page.GetByTestId("not-authorized")).ToBeVisibleAsync();
        await page.GotoAsync("/nodes");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/denied"));
    }

    [Fact]
    public async Task UsersPage_AdminAddsAMember_WhoSignsInWithoutAdminPages()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/users");
        await Assertions.Expect(page.Locator("a[href='/users']")).ToHaveCountAsync(1);

        await page.GetByTestId("new-user-email").FillAsync("member@deepx.test");
        await page.GetByTestId("new-user-password").FillAsync("Member-Passw0rd!");
        await page.GetByTestId("add-user").ClickAsync();

        await Assertions.Expect(page.GetByTestId("users-table")).ToContainTextAsync("member@deepx.test");
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"users-{width}.png") });
        }
        var member = await Chromium.OpenAsync(Host.Address, "/datasets", new TestAccount("member@deepx.test", "Member-Passw0rd!"));
        await Assertions.Expect(member.GetByTestId("user-name")).ToHaveTextAsync("member@deepx.test");
        await Assertions.Expect(member.Locator("a[href='/users']")).ToHaveCountAsync(0);
        await Assertions.Expect(member.Locator("a[href='/nodes']")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task TrainDetails_RunStartedByAMember_ShowsWhoStartedIt()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), DeepExtension.Core.Training.TrainingAlgorithm.Sft);
        // Recorded, never executed: only the details page is looked at.
        var runs = new DeepExtension.Core.Runs.TrainingRunService(Env.DbFactory, Env.Directories, new RecordingRunScheduler(), TimeProvider.System,
            new Member("member@deepx.test"));
        var started = await runs.StartAsync(new DeepExtension.Core.Runs.NewTrainRequest("by-member", model.Id, version.Id, method.Id,
            new System.Text.Json.Nodes.JsonObject { ["lora_r"] = 4, ["max_tokens"] = 128 }));
        Assert.True(started.Succeeded, started.AllErrors);
        Assert.Equal("member@deepx.test", started.Value!.CreatedBy);

        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/{started.Value.Id}");

        await Assertions.Expect(page.GetByTestId("details-created-by")).ToHaveTextAsync("member@deepx.test");
    }

    private sealed record Member(string Name) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => role == Roles.Member;
    }

    [Fact]
    public async Task Names_LookingLikeMarkup_AreShownAsTextAndNeverRun()
    {
        var path = Env.AddModelFolder("tiny-qwen2");
        var model = await Host.Services.GetRequiredService<BaseModelService>().CreateAsync(new BaseModelInput("tiny-qwen2", Markup, path, null));
        Assert.True(model.Succeeded, model.AllErrors);
        var dataset = await Host.Services.GetRequiredService<DatasetService>().CreateAsync(Markup, Markup,
            new DatasetUpload(new MemoryStream(Encoding.UTF8.GetBytes("{\"instruction\":\"a\",\"output\":\"b\"}\n")), "x<img src=x onerror=window.__x=1>.jsonl"));
        Assert.True(dataset.Succeeded, dataset.AllErrors);

        foreach (var path2 in new[] { "/base-models", "/datasets" })
        {
            var page = await Chromium.OpenAsync(Host.Address, path2);
            await Assertions.Expect(page.GetByText(Markup).First).ToBeVisibleAsync();
            Assert.Equal(0, await page.Locator("img[src=x]").CountAsync());
            Assert.True(await page.EvaluateAsync<bool>("() => window.__x === undefined"));
        }
    }
}
