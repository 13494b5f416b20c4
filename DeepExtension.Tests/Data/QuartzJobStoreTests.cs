using DeepExtension.Core;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace DeepExtension.Tests.Data;

public class QuartzJobStoreTests
{
    [Fact]
    public async Task PersistentStore_JobStoredThenSchedulerRestarted_JobIsStillThere()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var jobKey = new JobKey("survives-restart", "tests");

        await using (var first = await StartSchedulerAsync(env))
        {
            var scheduler = await first.GetSchedulerAsync();
            var job = JobBuilder.Create<NoOpJob>().WithIdentity(jobKey).StoreDurably().UsingJobData("payload", "kept").Build();
            await scheduler.AddJob(job);
        }

        await using var second = await StartSchedulerAsync(env);
        var restarted = await second.GetSchedulerAsync();
        var stored = await restarted.GetJobDetail(jobKey);
        Assert.NotNull(stored);
        Assert.Equal("kept", stored.JobDataMap.GetString("payload"));
        Assert.Equal(JobsHostingExtensions.SchedulerName, restarted.SchedulerName);
    }

    private static async Task<SchedulerHost> StartSchedulerAsync(TestEnvironment env)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{DeepExtensionOptions.SectionName}:DataRoot"] = env.DataRoot,
        });
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        var host = builder.Build();
        await host.StartAsync();
        return new SchedulerHost(host);
    }

    private sealed class SchedulerHost(IHost host) : IAsyncDisposable
    {
        public Task<IScheduler> GetSchedulerAsync() =>
            host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler().AsTask();

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    public sealed class NoOpJob : IJob
    {
        public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
