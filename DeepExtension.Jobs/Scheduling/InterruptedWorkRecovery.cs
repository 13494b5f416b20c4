using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Scheduling;

/// <summary>
/// On start-up, puts back in the queue every run and deployment that was Queued or Running when the console stopped
/// and has no job in the store any more: a run continues from its last checkpoint, a deployment starts over (blobs
/// Ollama already received are not uploaded again), a Hub download resumes from the bytes on disk.
/// </summary>
public sealed class InterruptedWorkRecovery(WorkStore store, IWorkQueue queue, ILogger<InterruptedWorkRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RequeueAsync(WorkKind.Train, await store.UnfinishedIdsAsync<TrainingRun>(cancellationToken), cancellationToken);
        await RequeueAsync(WorkKind.Deploy, await store.UnfinishedIdsAsync<ModelDeployment>(cancellationToken), cancellationToken);
        await RequeueAsync(WorkKind.Download, await store.UnfinishedIdsAsync<Core.HubDownloads.HubDownload>(cancellationToken), cancellationToken);
    }

    private async Task RequeueAsync(WorkKind kind, IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        foreach (var id in ids)
        {
            if (await queue.ContainsAsync(kind, id, cancellationToken)) continue;
            logger.LogInformation("{Kind} {Id} was interrupted; queueing it again", kind, id);
            await queue.EnqueueAsync(kind, id, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
