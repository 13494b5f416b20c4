using System.Text;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
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
        Assert.Equal(Access.NotYours("delete it"), (await BaseModelsAs(OtherMember).DeleteAsync(byMember.Value.Id)).AllErrors);
        Assert.Equal(Access.ViewerMessage, (await BaseModelsAs(Viewer).DeleteAsync(byMember.Value.Id)).AllErrors);
        Assert.Equal(Access.NotYours("edit it"), (await BaseModelsAs(OtherMember).UpdateAsync(byMember.Value.Id,
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
        Assert.Equal(Access.NotYours("delete it"), (await DatasetsAs(OtherMember).DeleteAsync(byMember.Value.Dataset.Id)).AllErrors);
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

    [Fact]
    public async Task Dataset_NewVersionOfAnotherUsersDataset_IsRefusedNamingTheAction()
    {
        static DatasetUpload Rows(string output) =>
            new(new MemoryStream(Encoding.UTF8.GetBytes($"{{\"instruction\":\"a\",\"output\":\"{output}\"}}\n")), "rows.jsonl");
        var byMember = await DatasetsAs(Member).CreateAsync("member-data", null, Rows("b"));
        Assert.True(byMember.Succeeded, byMember.AllErrors);
        var id = byMember.Value!.Dataset.Id;

        var byOther = await DatasetsAs(OtherMember).AddVersionAsync(id, Rows("c"));
        var byViewer = await DatasetsAs(Viewer).AddVersionAsync(id, Rows("d"));

        Assert.Equal(Access.NotYours("add a version to it"), byOther.AllErrors);
        Assert.Equal(Access.ViewerMessage, byViewer.AllErrors);
        Assert.Single((await _env.Datasets.GetAsync(id))!.Versions);
        Assert.True((await DatasetsAs(Member).AddVersionAsync(id, Rows("e"))).Succeeded);
        Assert.True((await DatasetsAs(Admin).AddVersionAsync(id, Rows("f"))).Succeeded);
        Assert.Equal(3, (await _env.Datasets.GetAsync(id))!.Versions.Count);
    }

    [Fact]
    public async Task Train_AnotherUsersRun_ResumeAndCancelAreRefusedNamingTheAction()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(_env, TrainingHost.TwentyChats(), DeepExtension.Core.Training.TrainingAlgorithm.Sft);
        TrainingRunService RunsAs(ICurrentUser user) => new(_env.DbFactory, _env.Directories, new RecordingRunScheduler(), TimeProvider.System, user);
        var started = await RunsAs(Admin).StartAsync(new NewTrainRequest("admins-train", model.Id, version.Id, method.Id,
            new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var id = started.Value!.Id;
        Assert.True((await RunsAs(Admin).CancelAsync(id)).Succeeded);

        Assert.Equal(Access.NotYours("resume it"), (await RunsAs(Member).ResumeAsync(id)).AllErrors);
        Assert.Equal(Access.ViewerMessage, (await RunsAs(Viewer).ResumeAsync(id)).AllErrors);
        Assert.Equal(WorkStatus.Cancelled, (await RunsAs(Admin).GetAsync(id))!.Status);
        Assert.True((await RunsAs(Admin).ResumeAsync(id)).Succeeded);
        Assert.Equal(Access.NotYours("cancel it"), (await RunsAs(Member).CancelAsync(id)).AllErrors);
        Assert.NotEqual(WorkStatus.Cancelled, (await RunsAs(Admin).GetAsync(id))!.Status);
    }

    private sealed record TestUser(string Name, string Role) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => role == Role;
    }
}
