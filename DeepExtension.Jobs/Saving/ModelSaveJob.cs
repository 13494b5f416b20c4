using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Jobs.Runs;
using Microsoft.Extensions.Logging;
using DeepExtension.Jobs.Scheduling;
using Quartz;

namespace DeepExtension.Jobs.Saving;

/// <summary>
/// Executes one save: runs <c>DeepExtension.Jobs merge-save --save ID</c> in a worker process (which writes
/// complete-models/&lt;name&gt;.partial and renames it when complete), then registers the complete model, or records
/// the failure and removes whatever the worker left.
/// </summary>
public sealed class ModelSaveJob(CompleteModelService completeModels, WorkerLauncher launcher, DataDirectories directories, ILogger<ModelSaveJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var saveId = EntityJobs.IdOf(context);
        var save = await completeModels.GetSaveAsync(saveId, cancellationToken);
        if (save is null || save.IsFinished) return;
        if (!await completeModels.MarkRunningAsync(saveId, cancellationToken)) return;
        logger.LogInformation("Save {SaveId} ({Name}) starts a worker", saveId, save.OutputName);

        var files = SaveCommand.LogFilesOf(directories, saveId);
        var final = Path.Combine(directories.CompleteModels, save.OutputName);
        if (Directory.Exists(final))
        {
            // The worker finished (renamed its output) but the process that ran the job stopped before registering it.
            try
            {
                await completeModels.RegisterAsync(saveId, CancellationToken.None);
            }
            catch (Exception ex)
            {
                await FailAsync(saveId, final, $"The merged model could not be registered: {ex.Message}");
            }
            return;
        }
        WorkerExit exit;
        try
        {
            exit = await launcher.RunAsync(["merge-save", "--save", saveId.ToString()], files, cancellationToken);
        }
        catch (Exception ex)
        {
            await FailAsync(saveId, final, $"The worker could not be started: {ex.Message}");
            return;
        }
        if (exit.Interrupted)
        {
            // The console is stopping: nothing half-written stays; the job (requested recovery) runs again at the next start.
            Folders.DeleteQuietly(final + SaveCommand.PartialSuffix);
            await completeModels.FinishFailedAsync(saveId, "The console stopped while the model was being saved; save it again.", CancellationToken.None);
            Folders.DeleteQuietly(final);
            return;
        }
        if (exit.ExitCode == WorkerExit.Succeeded && Directory.Exists(final))
        {
            try
            {
                await completeModels.RegisterAsync(saveId, CancellationToken.None);
            }
            catch (Exception ex)
            {
                await FailAsync(saveId, final, $"The merged model could not be registered: {ex.Message}");
            }
            return;
        }
        var reason = exit.ExitCode == WorkerExit.Succeeded
            ? "The worker reported success but wrote no model folder."
            : WorkerLauncher.DescribeExit(exit.ExitCode) + (exit.LastError is null ? "." : $": {exit.LastError}");
        await FailAsync(saveId, final, reason);
    }

    private async Task FailAsync(Guid saveId, string final, string reason)
    {
        Folders.DeleteQuietly(final + SaveCommand.PartialSuffix);
        Folders.DeleteQuietly(final);
        await completeModels.FinishFailedAsync(saveId, reason, CancellationToken.None);
        logger.LogWarning("Save {SaveId} failed: {Reason}", saveId, reason);
    }
}
