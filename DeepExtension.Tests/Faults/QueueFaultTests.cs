using System.Text.Json.Nodes;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Faults;

/// <summary>
/// Issue 13, fault 3: twenty queued trainings held all ten scheduler threads waiting for a device slot, so a Save
/// waited minutes. Reproduced with the console's scheduler (Quartz, SQLite store) and real worker processes.
/// </summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class QueueFaultTests
{
    [Fact]
    public async Task Save_TrainingQueueFullerThanTheThreadPool_StartsWithinSeconds()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(env);
        var model = Assert.Single(await env.BaseModels.ListAsync());
        var version = (await env.Datasets.ListAsync()).Single().LatestVersion!;
        var method = (await env.TrainingMethods.ListAsync()).Single(m => m.IsBuiltIn && m.Algorithm == TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env);
        var limits = host.Host.Services.GetRequiredService<WorkLimits>();

        // More trains than the scheduler has threads, all on the one CPU slot: one trains, the rest wait.
        var parameters = TrainingHost.EndlessSft();
        var runs = new List<Guid>();
        for (var i = 0; i < limits.SchedulerThreads + 4; i++)
        {
            var started = await host.Runs.StartAsync(new NewTrainRequest($"queued-{i}", model.Id, version.Id, method.Id, parameters, "cpu"));
            Assert.True(started.Succeeded, started.AllErrors);
            runs.Add(started.Value!.Id);
        }
        await host.WaitForAsync(runs[0], r => r.Status == WorkStatus.Running, TimeSpan.FromMinutes(1));
        await Task.Delay(limits.RetryDelay * 2); // Every queued train has looked for a slot at least once.

        var submitted = DateTime.UtcNow;
        var save = await host.CompleteModels.SaveAsync(customized.Id);
        Assert.True(save.Succeeded, save.AllErrors);
        var deadline = submitted + TimeSpan.FromSeconds(20);
        DeepExtension.Core.CompleteModels.ModelSave row;
        while ((row = (await host.CompleteModels.GetSaveAsync(save.Value!.Id))!).StartedAtUtc is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The save stayed {row.Status} for 20 s behind {runs.Count} queued trainings.");
            await Task.Delay(100);
        }

        var all = await Task.WhenAll(runs.Select(id => host.Runs.GetAsync(id)));
        Assert.Single(all, r => r!.Status == WorkStatus.Running); // One CPU slot: the others never started.
        Assert.All(all.Skip(1), r => Assert.Equal(0, r!.Attempts));
        foreach (var id in runs) await host.Runs.CancelAsync(id);
        var cancelled = await host.WaitForAsync(runs[0], r => r.IsFinished, TimeSpan.FromMinutes(1));
        Assert.Equal(WorkStatus.Cancelled, cancelled.Status);
    }

    [Fact]
    public async Task Trains_SlotFreedWithSeveralWaiting_TheOneQueuedFirstTakesIt()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        await using var host = await TrainingHost.StartAsync(env, new Dictionary<string, string?> { [WorkLimits.RetrySecondsKey] = "0.5" });
        var parameters = TrainingHost.EndlessSft();
        async Task<Guid> QueueAsync(string name)
        {
            var started = await host.Runs.StartAsync(new NewTrainRequest(name, model.Id, version.Id, method.Id, parameters, "cpu"));
            Assert.True(started.Succeeded, started.AllErrors);
            return started.Value!.Id;
        }

        var first = await QueueAsync("first");
        await host.WaitForAsync(first, r => r.Status == WorkStatus.Running, TimeSpan.FromMinutes(1));
        var waiting = new List<Guid>();
        for (var i = 0; i < 5; i++) waiting.Add(await QueueAsync($"waiting-{i}"));
        await Task.Delay(TimeSpan.FromSeconds(2)); // Every waiting train has looked for the one CPU slot and been fired again.

        // The slot frees while all five jobs keep firing: whichever fires first, the one queued first starts.
        await host.Runs.CancelAsync(first);
        await host.WaitForAsync(first, r => r.IsFinished, TimeSpan.FromMinutes(1));
        await host.WaitForAsync(waiting[0], r => r.Status == WorkStatus.Running, TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var others = await Task.WhenAll(waiting.Skip(1).Select(id => host.Runs.GetAsync(id)));
        Assert.All(others, r => Assert.Equal((WorkStatus.Queued, 0), (r!.Status, r.Attempts)));

        foreach (var id in waiting) await host.Runs.CancelAsync(id);
        Assert.Equal(WorkStatus.Cancelled, (await host.WaitForAsync(waiting[0], r => r.IsFinished, TimeSpan.FromMinutes(1))).Status);
    }
}
