using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Saving;

/// <summary>
/// Executes one save: runs <c>DeepExtension.Jobs merge --save ID</c> in a worker process (which writes
/// complete-models/&lt;name&gt;.partial and renames it when complete), then registers the complete model, or records
/// the failure and removes whatever the worker left. Its log is saves/&lt;id&gt;/save.log.jsonl.
/// </summary>
public sealed class ModelSaveJob(WorkStore store, CompleteModelService completeModels, WorkerLauncher launcher, DataDirectories directories, WorkLimits limits, ILogger<ModelSaveJob> logger)
    : WorkJob<ModelSave>(store, logger, limits)
{
    /// <summary>A save's log (save.log.jsonl; train.log.jsonl before, still read).</summary>
    public static WorkLog LogOf(DataDirectories directories, Guid saveId) => WorkLog.In(directories.SaveFolder(saveId), WorkKind.Save);

    protected override async Task RunAsync(ModelSave save, CancellationToken cancellationToken)
    {
        var saveId = save.Id;
        var final = directories.CompleteModelFolder(save.OutputName);
        if (Directory.Exists(final))
        {
            // The worker finished (renamed its output) but the process that ran the job stopped before registering it.
            await RegisterAsync(saveId, final);
            return;
        }
        var exit = await RunWorkerAsync(launcher, saveId, ["merge", SaveCommand.SaveOption, saveId.ToString()], LogOf(directories, saveId), cancellationToken,
            beforeFailing: () => RemoveOutput(final));
        if (exit is null) return;
        if (exit.Interrupted)
        {
            // The console is stopping: nothing half-written stays; the job (requested recovery) runs again at the next start.
            Folders.DeleteQuietly(DataDirectories.PartialOf(final));
            await FailAsync(saveId, "The console stopped while the model was being saved; save it again.");
            Folders.DeleteQuietly(final);
            return;
        }
        if (exit.ExitCode == WorkerExit.Succeeded && Directory.Exists(final))
        {
            await RegisterAsync(saveId, final);
            return;
        }
        await RemoveOutput(final);
        await FailAsync(saveId, exit.ExitCode == WorkerExit.Succeeded ? WorkerExit.MissingOutput("model folder") : exit.FailureReason);
    }

    private async Task RegisterAsync(Guid saveId, string final)
    {
        try
        {
            await completeModels.RegisterAsync(saveId, CancellationToken.None);
        }
        catch (Exception ex)
        {
            await RemoveOutput(final);
            await FailAsync(saveId, $"The merged model could not be registered: {ex.Message}");
        }
    }

    private static Task RemoveOutput(string final)
    {
        Folders.DeleteQuietly(DataDirectories.PartialOf(final));
        Folders.DeleteQuietly(final);
        return Task.CompletedTask;
    }
}
