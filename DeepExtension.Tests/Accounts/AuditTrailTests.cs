using System.Text;
using System.Text.Json.Nodes;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Audit;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Accounts;

/// <summary>The audit trail the real services write over a real database, and what the Audit page's query returns.</summary>
public sealed class AuditTrailTests : IAsyncLifetime
{
    private static readonly TestUser Admin = new("admin@deepx.test", Roles.Admin);
    private static readonly TestUser Member = new("member@deepx.test", Roles.Member);
    private static readonly TestUser Viewer = new("viewer@deepx.test", Roles.Viewer);

    private TestEnvironment _env = null!;

    public async Task InitializeAsync() => _env = await TestEnvironment.CreateAsync();

    public async Task DisposeAsync() => await _env.DisposeAsync();

    private AuditTrail TrailAs(ICurrentUser user) => new(_env.DbFactory, user);

    [Fact]
    public async Task Services_EachAction_WritesWhoWhatAndWhen()
    {
        var before = DateTime.UtcNow.AddSeconds(-1);
        var path = _env.AddModelFolder("tiny-qwen2");
        var model = (await new BaseModelService(_env.DbFactory, _env.Directories, TimeProvider.System, Member)
            .CreateAsync(new BaseModelInput("audited", "Audited", path, null))).Value!;
        var datasets = new DatasetService(_env.DbFactory, _env.Directories, TimeProvider.System, Member);
        var dataset = (await datasets.CreateAsync("chats", null, new DatasetUpload(new MemoryStream(Encoding.UTF8.GetBytes(TrainingHost.TwentyChats())), "chats.jsonl"))).Value!;
        var method = (await _env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Sft);
        var runs = new TrainingRunService(_env.DbFactory, _env.Directories, new RecordingRunScheduler(), TimeProvider.System, Member);
        var started = await runs.StartAsync(new NewTrainRequest("audited-train", model.Id, dataset.Version.Id, method.Id, new JsonObject { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var run = started.Value!;
        Assert.True((await runs.CancelAsync(run.Id)).Succeeded);
        Assert.True((await runs.ResumeAsync(run.Id)).Succeeded);
        var environments = new DeploymentEnvironmentService(_env.DbFactory, _env.HttpClients, _env.OllamaEndpoint, TimeProvider.System, Admin);
        var environment = (await environments.CreateAsync(new DeploymentEnvironmentInput("local", "http://127.0.0.1:11434", true))).Value!;
        Assert.True(await environments.DeleteAsync(environment.Id));
        // Refused actions write nothing.
        Assert.False((await new BaseModelService(_env.DbFactory, _env.Directories, TimeProvider.System, Viewer).DeleteAsync(model.Id)).Succeeded);

        var entries = (await TrailAs(Admin).QueryAsync(new AuditQuery())).Entries.Reverse().ToList();

        Assert.Equal(
        [
            (Member.Name, AuditActions.Registered, AuditObjects.BaseModel, "audited"),
            (Member.Name, AuditActions.Uploaded, AuditObjects.Dataset, "chats"),
            (Member.Name, AuditActions.Started, AuditObjects.Train, "audited-train"),
            (Member.Name, AuditActions.Cancelled, AuditObjects.Train, "audited-train"),
            (Member.Name, AuditActions.Resumed, AuditObjects.Train, "audited-train"),
            (Admin.Name, AuditActions.Created, AuditObjects.Environment, "local"),
            (Admin.Name, AuditActions.Deleted, AuditObjects.Environment, "local"),
        ], entries.Select(e => (e.Actor, e.Action, e.ObjectKind, e.ObjectName!)).ToList());
        Assert.All(entries, e => Assert.InRange(e.AtUtc, before, DateTime.UtcNow.AddSeconds(1)));
        Assert.Equal(run.Id.ToString(), entries[2].ObjectId);
        Assert.Equal("version 1: chats.jsonl, 20 rows", entries[1].Detail);

        // Deleting writes its entry too, and the trail outlives the object.
        Assert.True((await datasets.DeleteAsync(dataset.Dataset.Id)).Succeeded is false); // still used by the train
        var runs2 = new BaseModelService(_env.DbFactory, _env.Directories, TimeProvider.System, Admin);
        var other = (await runs2.CreateAsync(new BaseModelInput("other", "Other", path, null))).Value!;
        Assert.True((await runs2.DeleteAsync(other.Id)).Succeeded);
        var deleted = (await TrailAs(Admin).QueryAsync(new AuditQuery(Action: AuditActions.Deleted, ObjectKind: AuditObjects.BaseModel))).Entries.Single();
        Assert.Equal(("other", other.Id.ToString(), Admin.Name), (deleted.ObjectName, deleted.ObjectId, deleted.Actor));
    }

    [Fact]
    public async Task Query_Filters_ByUserActionObjectAndText_NewestFirstAndPaged()
    {
        for (var i = 0; i < 7; i++)
        {
            await AuditTrail.WriteAsync(_env.DbFactory, i % 2 == 0 ? Member : Admin, TimeProvider.System,
                i < 5 ? AuditActions.Uploaded : AuditActions.Deleted, AuditObjects.Dataset, Guid.NewGuid(), $"data-{i}");
        }
        await AuditTrail.WriteAsync(_env.DbFactory, SystemUser.Instance, TimeProvider.System, AuditActions.Started, AuditObjects.Train, Guid.NewGuid(), "nightly");
        var trail = TrailAs(Admin);

        Assert.Equal(4, (await trail.QueryAsync(new AuditQuery(Actor: Member.Name))).Total);
        Assert.Equal(["data-6", "data-5"], (await trail.QueryAsync(new AuditQuery(Action: AuditActions.Deleted))).Entries.Select(e => e.ObjectName));
        Assert.Equal("nightly", (await trail.QueryAsync(new AuditQuery(ObjectKind: AuditObjects.Train))).Entries.Single().ObjectName);
        Assert.Equal(AuditEntry.SystemActor, (await trail.QueryAsync(new AuditQuery(ObjectText: "night"))).Entries.Single().Actor);
        var page = await trail.QueryAsync(new AuditQuery(Page: 1, PageSize: 3));
        Assert.Equal(8, page.Total);
        Assert.Equal(["data-4", "data-3", "data-2"], page.Entries.Select(e => e.ObjectName!));
        Assert.Equal([Admin.Name, Member.Name, AuditEntry.SystemActor], (await trail.ActorsAsync()).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Query_MemberOrViewer_IsRefused()
    {
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => TrailAs(Member).QueryAsync(new AuditQuery()));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => TrailAs(Viewer).ActorsAsync());
    }

    [Fact]
    public void AuditTrail_Api_HasNoWayToChangeOrDeleteEntries()
    {
        var methods = typeof(AuditTrail).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly)
            .Select(m => m.Name).Distinct().Order().ToArray();

        Assert.Equal(["ActorsAsync", "Add", "QueryAsync", "WriteAsync"], methods);
    }

    private sealed record TestUser(string Name, string Role) : ICurrentUser
    {
        string? ICurrentUser.Name => Name;
        public bool IsSystem => false;
        public bool IsInRole(string role) => role == Role;
    }
}
