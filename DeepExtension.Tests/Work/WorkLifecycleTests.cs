using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Work;

/// <summary>Runs, saves and deployments move through one lifecycle, stored in their own tables.</summary>
public class WorkLifecycleTests
{
    public static TheoryData<WorkKind> Kinds => [WorkKind.Train, WorkKind.Save, WorkKind.Deploy];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task WorkStore_EveryKind_QueuedRunningFailedResumedAlike(WorkKind kind)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var store = new WorkStore(env.DbFactory, TimeProvider.System);
        var id = await CreateQueuedAsync(env, kind);

        var queued = await GetAsync(store, kind, id);
        Assert.Equal(kind, queued.Kind);
        Assert.Equal(WorkStatus.Queued, queued.Status);
        Assert.Equal(queued.CreatedAtUtc, queued.QueuedAtUtc);
        Assert.Equal(0, queued.Attempts);
        Assert.Null(queued.StartedAtUtc);
        Assert.Contains(id, await UnfinishedAsync(store, kind));

        Assert.True(await StartAsync(store, kind, id));
        var running = await GetAsync(store, kind, id);
        Assert.Equal(WorkStatus.Running, running.Status);
        Assert.Equal(1, running.Attempts);
        Assert.NotNull(running.StartedAtUtc);

        // A job fired again after a crash of the process that ran it: one more attempt, the first start stays.
        Assert.True(await StartAsync(store, kind, id));
        var restarted = await GetAsync(store, kind, id);
        Assert.Equal(2, restarted.Attempts);
        Assert.Equal(running.StartedAtUtc, restarted.StartedAtUtc);

        var reason = new string('x', 5000);
        Assert.True(await FinishAsync(store, kind, id, WorkStatus.Failed, reason));
        var failed = await GetAsync(store, kind, id);
        Assert.Equal(WorkStatus.Failed, failed.Status);
        Assert.True(failed.IsFinished);
        Assert.NotNull(failed.FinishedAtUtc);
        Assert.Equal(kind == WorkKind.Train ? 4000 : 2000, failed.FailureReason!.Length);
        Assert.DoesNotContain(id, await UnfinishedAsync(store, kind));

        // The first outcome stands, and a finished item does not start again.
        Assert.False(await FinishAsync(store, kind, id, WorkStatus.Succeeded, null));
        Assert.False(await StartAsync(store, kind, id));
        Assert.Equal(WorkStatus.Failed, (await GetAsync(store, kind, id)).Status);

        Assert.True(await EnqueueAsync(store, kind, id));
        var resumed = await GetAsync(store, kind, id);
        Assert.Equal(WorkStatus.Queued, resumed.Status);
        Assert.Null(resumed.FailureReason);
        Assert.Null(resumed.FinishedAtUtc);
        Assert.True(resumed.QueuedAtUtc >= failed.FinishedAtUtc);
        Assert.Equal(running.StartedAtUtc, resumed.StartedAtUtc);
        Assert.Equal(2, resumed.Attempts);
    }

    [Fact]
    public void Finish_QueuedOrRunningAsOutcome_Throws()
    {
        var save = new ModelSave { OutputName = "x" };
        Assert.Throws<ArgumentOutOfRangeException>(() => save.Finish(WorkStatus.Running, null, DateTime.UtcNow));
        Assert.Throws<ArgumentOutOfRangeException>(() => save.Finish(WorkStatus.Queued, null, DateTime.UtcNow));
    }

    [Fact]
    public void KindHooks_SaveAndDeploymentAndRun_KeepTheirOwnColumnsInStep()
    {
        var now = DateTime.UtcNow;
        var save = new ModelSave { OutputName = "x" };
        save.Enqueue(now);
        save.Start(now);
        Assert.Equal(0.05, save.Progress);
        save.Finish(WorkStatus.Succeeded, null, now);
        Assert.Equal(1, save.Progress);

        var deployment = NewDeployment();
        deployment.Enqueue(now);
        Assert.Equal("Queued", deployment.Stage);
        deployment.Start(now);
        Assert.Equal("Starting", deployment.Stage);
        deployment.Progress = 0.4;
        deployment.Enqueue(now);
        Assert.Equal(0, deployment.Progress);
        Assert.StartsWith("Interrupted by a console stop", deployment.Stage);
        deployment.Start(now);
        deployment.Finish(WorkStatus.Failed, "no space", now);
        Assert.Equal("Failed", deployment.Stage);

        var run = new TrainingRun { Name = "r", BaseModelTechnicalName = "b", MethodName = "m", EtaSeconds = 12 };
        run.Start(now);
        run.Finish(WorkStatus.Cancelled, null, now);
        Assert.Null(run.EtaSeconds);
    }

    private static ModelDeployment NewDeployment() => new()
    {
        Id = Guid.CreateVersion7(),
        OllamaModel = "m:latest",
        SourceModelName = "source",
        BaseModelName = "base",
        EnvironmentName = "local",
        BaseUrl = "http://127.0.0.1:1",
        Quantization = OllamaQuantization.None,
    };

    private static async Task<Guid> CreateQueuedAsync(TestEnvironment env, WorkKind kind)
    {
        switch (kind)
        {
            case WorkKind.Train:
            {
                var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), DeepExtension.Core.Training.TrainingAlgorithm.Sft);
                var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
                var run = await runs.StartAsync(new NewTrainRequest("lifecycle", model.Id, version.Id, method.Id, new() { ["max_tokens"] = 64 }, "cpu"));
                Assert.True(run.Succeeded, run.AllErrors);
                return run.Value!.Id;
            }
            case WorkKind.Save:
            {
                var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
                var saves = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
                var save = await saves.SaveAsync(customized.Id);
                Assert.True(save.Succeeded, save.AllErrors);
                return save.Value!.Id;
            }
            default:
            {
                var deployment = NewDeployment();
                var now = DateTime.UtcNow;
                deployment.CreatedAtUtc = now;
                deployment.Enqueue(now);
                await using var db = await env.DbFactory.CreateDbContextAsync();
                db.ModelDeployments.Add(deployment);
                await db.SaveChangesAsync();
                return deployment.Id;
            }
        }
    }

    private static async Task<WorkItem> GetAsync(WorkStore store, WorkKind kind, Guid id) => kind switch
    {
        WorkKind.Train => (await store.GetAsync<TrainingRun>(id))!,
        WorkKind.Save => (await store.GetAsync<ModelSave>(id))!,
        _ => (await store.GetAsync<ModelDeployment>(id))!,
    };

    private static Task<bool> StartAsync(WorkStore store, WorkKind kind, Guid id) => kind switch
    {
        WorkKind.Train => store.StartAsync<TrainingRun>(id),
        WorkKind.Save => store.StartAsync<ModelSave>(id),
        _ => store.StartAsync<ModelDeployment>(id),
    };

    private static Task<bool> FinishAsync(WorkStore store, WorkKind kind, Guid id, WorkStatus outcome, string? reason) => kind switch
    {
        WorkKind.Train => store.FinishAsync<TrainingRun>(id, outcome, reason),
        WorkKind.Save => store.FinishAsync<ModelSave>(id, outcome, reason),
        _ => store.FinishAsync<ModelDeployment>(id, outcome, reason),
    };

    private static Task<bool> EnqueueAsync(WorkStore store, WorkKind kind, Guid id) => kind switch
    {
        WorkKind.Train => store.EnqueueAsync<TrainingRun>(id, i => i.IsFinished),
        WorkKind.Save => store.EnqueueAsync<ModelSave>(id, i => i.IsFinished),
        _ => store.EnqueueAsync<ModelDeployment>(id, i => i.IsFinished),
    };

    private static Task<IReadOnlyList<Guid>> UnfinishedAsync(WorkStore store, WorkKind kind) => kind switch
    {
        WorkKind.Train => store.UnfinishedIdsAsync<TrainingRun>(),
        WorkKind.Save => store.UnfinishedIdsAsync<ModelSave>(),
        _ => store.UnfinishedIdsAsync<ModelDeployment>(),
    };
}
