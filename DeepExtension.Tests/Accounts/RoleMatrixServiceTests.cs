using System.Text;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Accounts;

/// <summary>What each role may do, asked of the real services over a real database.</summary>
public sealed class RoleMatrixServiceTests : IAsyncLifetime
{
    private static readonly TestUser Admin = new("admin@deepx.test", Roles.Admin);
    private static readonly TestUser Member = new("member@deepx.test", Roles.Member);
    private static readonly TestUser OtherMember = new("other@deepx.test", Roles.Member);
    private static readonly TestUser Viewer = new("viewer@deepx.test", Roles.Viewer);

    private TestEnvironment _env = null!;

    public async Task InitializeAsync() => _env = await TestEnvironment.CreateAsync();

    public async Task DisposeAsync() => await _env.DisposeAsync();

    private BaseModelService BaseModelsAs(ICurrentUser user) => new(_env.DbFactory, _env.Directories, TimeProvider.System, user);
    private DatasetService DatasetsAs(ICurrentUser user) => new(_env.DbFactory, _env.Directories, TimeProvider.System, user);
    private DeploymentEnvironmentService EnvironmentsAs(ICurrentUser user) => new(_env.DbFactory, _env.HttpClients, _env.OllamaEndpoint, TimeProvider.System, user);

    [Fact]
    public async Task BaseModel_EachRole_RegisterAndDeleteFollowTheMatrix()
    {
        var path = _env.AddModelFolder("tiny-qwen2");

        var byViewer = await BaseModelsAs(Viewer).CreateAsync(new BaseModelInput("viewer-model", "Viewer model", path, null));
        var byMember = await BaseModelsAs(Member).CreateAsync(new BaseModelInput("member-model", "Member model", path, null));

        Assert.Equal(Access.ViewerMessage, byViewer.AllErrors);
        Assert.True(byMember.Succeeded, byMember.AllErrors);
        Assert.Equal(Member.Name, byMember.Value!.CreatedBy);
        Assert.Equal(Access.NotYoursMessage, (await BaseModelsAs(OtherMember).DeleteAsync(byMember.Value.Id)).AllErrors);
        Assert.Equal(Access.ViewerMessage, (await BaseModelsAs(Viewer).DeleteAsync(byMember.Value.Id)).AllErrors);
        Assert.Equal(Access.NotYoursMessage, (await BaseModelsAs(OtherMember).UpdateAsync(byMember.Value.Id,
            new BaseModelInput("renamed", "Renamed", path, null))).AllErrors);
        Assert.NotNull(await _env.BaseModels.GetAsync(byMember.Value.Id));
        Assert.True((await BaseModelsAs(Member).DeleteAsync(byMember.Value.Id)).Succeeded);

        var another = await BaseModelsAs(OtherMember).CreateAsync(new BaseModelInput("other-model", "Other model", path, null));
        Assert.True((await BaseModelsAs(Admin).DeleteAsync(another.Value!.Id)).Succeeded);
    }

    [Fact]
    public async Task Dataset_ViewerUploads_IsRefusedAndStoresNothing()
    {
        var upload = new DatasetUpload(new MemoryStream(Encoding.UTF8.GetBytes("{\"instruction\":\"a\",\"output\":\"b\"}\n")), "rows.jsonl");

        var byViewer = await DatasetsAs(Viewer).CreateAsync("viewer-data", null, upload);
        upload.Content.Position = 0;
        var byMember = await DatasetsAs(Member).CreateAsync("member-data", null, upload);

        Assert.Equal(Access.ViewerMessage, byViewer.AllErrors);
        Assert.True(byMember.Succeeded, byMember.AllErrors);
        Assert.Equal(Member.Name, byMember.Value!.Dataset.CreatedBy);
        Assert.Single(await _env.Datasets.ListAsync());
        Assert.Equal(Access.NotYoursMessage, (await DatasetsAs(OtherMember).DeleteAsync(byMember.Value.Dataset.Id)).AllErrors);
        Assert.True((await DatasetsAs(Admin).DeleteAsync(byMember.Value.Dataset.Id)).Succeeded);
    }

    [Fact]
    public async Task DeploymentEnvironment_OnlyAdmins_AddChangeOrRemoveThem()
    {
        var input = new DeploymentEnvironmentInput("local", "http://127.0.0.1:11434", true);

        Assert.Equal(Access.AdminOnlyMessage, (await EnvironmentsAs(Member).CreateAsync(input)).AllErrors);
        Assert.Equal(Access.AdminOnlyMessage, (await EnvironmentsAs(Viewer).CreateAsync(input)).AllErrors);
        var created = await EnvironmentsAs(Admin).CreateAsync(input);
        Assert.True(created.Succeeded, created.AllErrors);
        Assert.Equal(Access.AdminOnlyMessage, (await EnvironmentsAs(Member).UpdateAsync(created.Value!.Id, input with { Name = "renamed" })).AllErrors);
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => EnvironmentsAs(Member).DeleteAsync(created.Value.Id));
        Assert.Single(await _env.DeploymentEnvironments.ListAsync());
    }

    [Fact]
    public async Task Train_Viewer_CannotStart()
    {
        var scheduler = new RecordingRunScheduler();
        var runs = new TrainingRunService(_env.DbFactory, _env.Directories, scheduler, TimeProvider.System, Viewer);

        var refused = await runs.StartAsync(new NewTrainRequest("viewer-train", Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), []));

        Assert.Equal(Access.ViewerMessage, refused.AllErrors);
        Assert.Empty(await runs.ListAsync());
    }

    private sealed record TestUser(string Name, string Role) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => role == Role;
    }
}
