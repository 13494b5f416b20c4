using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using Microsoft.Extensions.Logging;
using DeepExtension.Jobs.Scheduling;
using Quartz;

namespace DeepExtension.Jobs.Runs;

/// <summary>
/// Executes one training run: waits for a device slot, runs the worker process, keeps the run's summary columns
/// equal to what its metric points say (watching them through the process's <see cref="LiveRunStore"/>, the same
/// reader the pages share), and records the outcome (registering the customized model on success).
/// </summary>
public sealed class TrainingRunJob(
    TrainingRunService runs, CustomizedModelService customizedModels, WorkerLauncher launcher, RunSlots slots, LiveRunStore live,
    ILogger<TrainingRunJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var runId = EntityJobs.IdOf(context);
        var run = await runs.GetAsync(runId, cancellationToken);
        if (run is null || run.IsFinished) return;
        var files = runs.FilesOf(run);

        IDisposable slot;
        try
        {
            slot = await slots.AcquireAsync(run.Device, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return; // Shutting down while queued: the run is still Queued and is queued again at the next start.
        }
        using var _ = slot;
        if (files.CancelRequested)
        {
            await runs.FinishAsync(runId, RunStatus.Cancelled, null, CancellationToken.None);
            return;
        }
        if (!await runs.MarkRunningAsync(runId, cancellationToken)) return;
        logger.LogInformation("Run {RunId} ({Name}) starts a worker", runId, run.Name);

        WorkerExit exit;
        LiveRunSubscription? watching = null;
        using (watching = live.Subscribe(files, () => watching is null ? Task.CompletedTask : CopySummaryAsync(runId, watching.Run.Summary, cancellationToken)))
        {
            try
            {
                exit = await launcher.RunAsync(["train", "--run", runId.ToString()], files, cancellationToken);
            }
            catch (Exception ex)
            {
                await runs.FinishAsync(runId, RunStatus.Failed, $"The worker could not be started: {ex.Message}", CancellationToken.None);
                return;
            }
        }
        // The worker is gone: every point is on disk. The summary of the whole file is what the run reached, written
        // before the run reads finished (and before its model card copies it).
        await CopySummaryAsync(runId, RunSummary.Of(MetricsFile.ReadAll(files)), CancellationToken.None);

        if (exit.Interrupted)
        {
            // The console is stopping; the run stays Running and is resumed from its checkpoint at the next start.
            logger.LogInformation("Run {RunId} interrupted by shutdown; it resumes at the next start", runId);
            return;
        }
        switch (exit.ExitCode)
        {
            case WorkerExit.Succeeded when Directory.Exists(files.AdapterDirectory):
                // The customized model exists before the run reads Succeeded, so whoever sees one sees both.
                var finished = DateTime.UtcNow;
                try
                {
                    await customizedModels.RegisterAsync(runId, files.AdapterDirectory, finished, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    await runs.FinishAsync(runId, RunStatus.Failed, $"Training finished but the adapter could not be registered: {ex.Message}", CancellationToken.None);
                    break;
                }
                await runs.FinishAsync(runId, RunStatus.Succeeded, null, CancellationToken.None, finished);
                break;
            case WorkerExit.Succeeded:
                await runs.FinishAsync(runId, RunStatus.Failed, "The worker reported success but wrote no adapter.", CancellationToken.None);
                break;
            case WorkerExit.Cancelled:
                await runs.FinishAsync(runId, RunStatus.Cancelled, null, CancellationToken.None);
                break;
            case TrainCommand.Interrupted:
                await runs.FinishAsync(runId, RunStatus.Failed, "The worker was stopped from outside (SIGTERM) after saving a checkpoint; Resume continues it.", CancellationToken.None);
                break;
            default:
                var reason = WorkerLauncher.DescribeExit(exit.ExitCode) + (exit.LastError is null ? "." : $": {exit.LastError}");
                await runs.FinishAsync(runId, RunStatus.Failed, reason, CancellationToken.None);
                break;
        }
    }

    private async Task CopySummaryAsync(Guid runId, RunSummary summary, CancellationToken cancellationToken)
    {
        try
        {
            await runs.UpdateSummaryAsync(runId, summary, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
