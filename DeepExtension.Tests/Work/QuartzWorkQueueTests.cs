using DeepExtension.Core.Work;
using DeepExtension.Jobs.Saving;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace DeepExtension.Tests.Work;

[OuterTier("starts the scheduler host, which runs work in worker processes")]
public class QuartzWorkQueueTests
{
    [Fact]
    public void KeysAndJobs_EachKind_AreTheOnesEarlierVersionsStored()
    {
        var id = Guid.NewGuid();
        Assert.Equal(new JobKey(id.ToString("N"), "training-runs"), QuartzWorkQueue.KeyOf(WorkKind.Train, id));
        Assert.Equal(new JobKey(id.ToString("N"), "model-saves"), QuartzWorkQueue.KeyOf(WorkKind.Save, id));
        Assert.Equal(new JobKey(id.ToString("N"), "model-deployments"), QuartzWorkQueue.KeyOf(WorkKind.Deploy, id));
        // Quartz stores the job's class by name: these names must not move.
        Assert.Equal("DeepExtension.Jobs.Runs.TrainingRunJob", QuartzWorkQueue.JobTypeOf(WorkKind.Train).FullName);
        Assert.Equal("DeepExtension.Jobs.Saving.ModelSaveJob", QuartzWorkQueue.JobTypeOf(WorkKind.Save).FullName);
        Assert.Equal("DeepExtension.Jobs.Deployment.DeploymentJob", QuartzWorkQueue.JobTypeOf(WorkKind.Deploy).FullName);
    }

    [Fact]
    public async Task StoredJob_OfAnEarlierVersionWithItsOwnIdKey_StillRunsItsSave()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        // A broken adapter makes the worker fail fast: the test is about the job running, not about merging.
        await File.WriteAllTextAsync(Path.Combine(env.Directories.Root, customized.AdapterPath, "adapter_model.safetensors"), "not a safetensors file");
        await using var host = await TrainingHost.StartAsync(env);
        var plan = (await host.CompleteModels.PlanSaveAsync(customized.Id)).Value!;
        await using (var db = await env.DbFactory.CreateDbContextAsync())
        {
            var row = new DeepExtension.Core.CompleteModels.ModelSave { Id = plan.SaveId, CustomizedModelId = customized.Id, OutputName = plan.OutputName, CreatedAtUtc = DateTime.UtcNow };
            row.Enqueue(row.CreatedAtUtc);
            db.ModelSaves.Add(row);
            await db.SaveChangesAsync();
        }

        // As the first versions queued a save: the id under "saveId", not "entityId".
        var scheduler = await host.Host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var job = JobBuilder.Create<ModelSaveJob>().WithIdentity(new JobKey(plan.SaveId.ToString("N"), "model-saves"))
            .UsingJobData("saveId", plan.SaveId.ToString()).RequestRecovery().Build();
        await scheduler.ScheduleJob(job, TriggerBuilder.Create().ForJob(job).StartNow().Build());

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        DeepExtension.Core.CompleteModels.ModelSave save;
        while (!(save = (await host.CompleteModels.GetSaveAsync(plan.SaveId))!).IsFinished)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The save stayed {save.Status}.");
            await Task.Delay(200);
        }
        Assert.Equal(WorkStatus.Failed, save.Status);
        Assert.Equal(1, save.Attempts);
        Assert.False(string.IsNullOrWhiteSpace(save.FailureReason));
        Assert.True(File.Exists(ModelSaveJob.LogOf(env.Directories, plan.SaveId).Path));
    }
}
