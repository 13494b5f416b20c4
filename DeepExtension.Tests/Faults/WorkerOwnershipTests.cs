using System.Diagnostics;
using DeepExtension.Core;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// The save worker, started by hand as an operator might, through the real executable: it works only on an item whose
/// lease it holds (WorkerOwnership, shared with the train and evaluation workers).
/// </summary>
[OuterTier("starts worker processes")]
public sealed class WorkerOwnershipTests
{
    [Fact]
    public async Task SaveWorker_SaveLeasedByAnotherProcess_ExitsLeaseLostAndWritesNothingThenSavesOnceFree()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var saves = new CompleteModelService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var plan = (await saves.PlanSaveAsync(customized.Id)).Value!;
        var save = await saves.SaveAsync(plan);
        Assert.True(save.Succeeded, save.AllErrors);
        var leases = new WorkLeaseStore(env.DbFactory, TimeProvider.System);
        var held = await leases.TryAcquireAsync(WorkKind.Save, save.Value!.Id, "another-console/1", TimeSpan.FromMinutes(5));
        Assert.NotNull(held);
        var output = env.Directories.CompleteModelFolder(plan.OutputName);

        var refused = await RunWorkerAsync(env, "merge-save", "--save", save.Value.Id.ToString());

        Assert.Equal(WorkerExit.LeaseLost, refused.ExitCode);
        Assert.Contains("owned by another process (another-console/1", refused.Error);
        Assert.False(Directory.Exists(output), "a worker without the lease wrote the model");

        await leases.ReleaseAsync(held);
        var saved = await RunWorkerAsync(env, "merge-save", "--save", save.Value.Id.ToString());

        Assert.True(saved.ExitCode == WorkerExit.Succeeded, saved.Error);
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
        // A worker started by hand took the lease itself (token 2) and released it when done: the next owner need not wait.
        var after = (await leases.GetAsync(WorkKind.Save, save.Value.Id))!;
        Assert.Equal(2, after.Token);
        Assert.True(after.ExpiresAtUtc <= DateTime.UtcNow, $"the lease runs until {after.ExpiresAtUtc:O}");
    }

    private static Task<(int ExitCode, string Error)> RunWorkerAsync(TestEnvironment env, params string[] arguments) =>
        JobsProcess.RunAsync(JobsProcess.StartInfo(env, null, arguments), TimeSpan.FromMinutes(2));
}
