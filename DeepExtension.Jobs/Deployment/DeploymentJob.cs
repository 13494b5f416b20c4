using DeepExtension.Core.Common;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Deployment;

/// <summary>
/// Executes one deployment: picks the files (a complete model's folder; a customized model's base folder plus its
/// adapter; or, for architectures whose adapters Ollama cannot import, a folder merged by a worker process first),
/// then uploads and creates the model through <see cref="OllamaDeployer"/>. Progress goes to the deployment's row
/// and its log (deployments/&lt;id&gt;/deploy.log.jsonl); a failure leaves the row Failed with the reason and no model in Ollama; a console
/// stop puts it back in the queue (see <see cref="Scheduling.InterruptedWorkRecovery"/>).
/// </summary>
public sealed class DeploymentJob(WorkStore store, DeploymentService deployments, OllamaDeployer deployer, WorkerLauncher launcher, WorkLimits limits, ILogger<DeploymentJob> logger)
    : WorkJob<ModelDeployment>(store, logger, limits)
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan CancelPollInterval = TimeSpan.FromMilliseconds(250);

    protected override async Task<bool> ReadyToStartAsync(ModelDeployment deployment)
    {
        if (!deployments.CancelRequested(deployment.Id)) return true;
        await CancelAsync(deployment.Id);
        return false;
    }

    protected override async Task RunAsync(ModelDeployment deployment, CancellationToken cancellationToken)
    {
        var id = deployment.Id;
        var folder = deployments.FolderOf(id);
        var log = Fenced(deployments.LogOf(id));
        Directory.CreateDirectory(folder);
        var merged = Path.Combine(folder, "merged");
        void RemoveMerged()
        {
            Folders.DeleteQuietly(DataDirectories.PartialOf(merged));
            Folders.DeleteQuietly(merged);
        }
        var createStarted = false;
        var lastReport = DateTime.MinValue;
        string? lastStage = null;
        async Task Report(DeployProgress progress)
        {
            if (progress.Stage != lastStage) Log(log, RunLogLevel.Info, progress.Stage);
            // Rows are what the Live Models page polls: changes of stage always, byte counts at most every 400 ms.
            if (progress.Stage == lastStage && DateTime.UtcNow - lastReport < ReportInterval) return;
            if (progress.Stage.StartsWith("Ollama:", StringComparison.Ordinal)) createStarted = true;
            lastStage = progress.Stage;
            lastReport = DateTime.UtcNow;
            await deployments.ReportAsync(id, progress, CancellationToken.None);
        }

        // Cancel (Live Models) writes a request file, which may come from another process: watched here, it stops
        // whatever this job is waiting on (hashing, a stalled upload, a create).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var userCancelled = false;
        var watching = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (deployments.CancelRequested(id))
                {
                    userCancelled = true;
                    await stop.CancelAsync();
                    return;
                }
                try
                {
                    await Task.Delay(CancelPollInterval, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }, CancellationToken.None);
        var uploaded = new List<OllamaUploadFile>();
        try
        {
            await RunStagesAsync(deployment, merged, log, Report, uploaded.Add, RemoveMerged, stop.Token);
        }
        catch (Exception) when (userCancelled)
        {
            Log(log, RunLogLevel.Warning, $"Cancelled; the {(createStarted ? "create" : "upload")} was stopped.");
            await RemoveHalfCreatedAsync(deployment, log, createStarted);
            LogBlobsLeft(log, uploaded);
            await CancelAsync(id);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Whatever the stop broke (a cancelled stream surfaces as an I/O error too), it is not the deployment's failure.
            // Starting over is cheap (uploaded blobs are kept by Ollama and skipped), so an interrupted deployment is not a failure.
            Log(log, RunLogLevel.Warning, "The console is stopping; the deployment continues when it starts again.");
            await deployments.RequeueAsync(id, CancellationToken.None);
        }
        catch (Exception ex) when (ex is OllamaDeployException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            LogBlobsLeft(log, uploaded);
            await FailAsync(deployment, log, ex.Message, createStarted);
        }
        finally
        {
            await stop.CancelAsync();
            await watching;
            RemoveMerged();
        }
    }

    /// <summary>Finds the files (merging first where Ollama cannot import the adapter), uploads them and creates the model.</summary>
    private async Task RunStagesAsync(ModelDeployment deployment, string merged, WorkLog log, Func<DeployProgress, Task> report,
        Action<OllamaUploadFile> uploaded, Action removeMerged, CancellationToken cancellationToken)
    {
        var id = deployment.Id;
        var (source, error) = await deployments.ResolveSourceAsync(deployment.SourceKind, deployment.SourceModelId, cancellationToken);
        if (source is null) throw new OllamaDeployException(error!);
        var template = source.BaseModel.DeploymentTemplate
            ?? throw new OllamaDeployException($"The base model {source.BaseModel.TechnicalName} has no Deployment Template File.");

        IReadOnlyList<OllamaUploadFile> files, adapters = [];
        if (source.CompleteFolder is { } complete)
        {
            files = OllamaModelFiles.ModelFolder(complete);
        }
        else if (!source.MergesFirst)
        {
            files = OllamaModelFiles.ModelFolder(source.BaseFolder);
            adapters = OllamaModelFiles.AdapterFolder(source.AdapterFolder!);
        }
        else
        {
            await report(new DeployProgress(0, $"Merging the adapter into {source.BaseModel.TechnicalName} (Ollama imports adapters only for llama and gemma2 bases)"));
            await MergeAsync(source, merged, log, cancellationToken);
            files = OllamaModelFiles.ModelFolder(merged);
        }

        var plan = new OllamaCreatePlan(deployment.OllamaModel, files, adapters, template, deployment.SystemPrompt,
            OllamaModelFiles.StopTokens(source.TokenizerFolder), OllamaQuantization.ToRequestValue(deployment.Quantization));
        var size = await deployer.DeployAsync(deployment.BaseUrl, plan, report, cancellationToken, uploaded);
        // The merged copy served only the upload; it is gone before the deployment reads as done.
        removeMerged();
        await deployments.SucceedAsync(id, size, CancellationToken.None);
        Log(log, RunLogLevel.Info, $"Deployed {deployment.OllamaModel} to {OllamaEndpoint.Mask(deployment.BaseUrl)}");
    }

    /// <summary>Ollama's API has no way to delete a blob: say what stays on the server and when it goes.</summary>
    private static void LogBlobsLeft(WorkLog log, List<OllamaUploadFile> uploaded)
    {
        if (uploaded.Count == 0) return;
        Log(log, RunLogLevel.Warning, $"Ollama keeps the {uploaded.Count} file(s) already uploaded ({ByteSize.Format(uploaded.Sum(f => f.Length))}: "
            + $"{string.Join(", ", uploaded.Select(f => f.Name))}); its API cannot delete them. A new deployment of the same files skips them, "
            + "and Ollama removes blobs no model uses when it next starts (unless OLLAMA_NOPRUNE is set).");
    }

    /// <summary>The same merge as a Save's (<see cref="Saving.ModelMerge"/>), in a worker process: a native crash fails the deployment, not the console.</summary>
    private async Task MergeAsync(DeploymentService.Source source, string merged, WorkLog log, CancellationToken cancellationToken)
    {
        Folders.DeleteQuietly(merged);
        var exit = await launcher.RunAsync(["merge", "--model", source.BaseFolder, "--adapter", source.AdapterFolder!, "--out", merged], log, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (exit.ExitCode != WorkerExit.Succeeded || !Directory.Exists(merged))
        {
            throw new OllamaDeployException("Merging the adapter into its base failed: "
                + (exit.ExitCode == WorkerExit.Succeeded ? WorkerExit.MissingOutput("model folder") : exit.FailureReason));
        }
    }

    /// <summary>
    /// Records the failure. If Ollama had begun creating the model, a model of that name is removed again so that
    /// nothing half-created stays (the name was checked to be free before the deployment was queued).
    /// </summary>
    private async Task FailAsync(ModelDeployment deployment, WorkLog log, string reason, bool createStarted)
    {
        Log(log, RunLogLevel.Error, reason);
        await RemoveHalfCreatedAsync(deployment, log, createStarted);
        await FailAsync(deployment.Id, reason);
    }

    private async Task RemoveHalfCreatedAsync(ModelDeployment deployment, WorkLog log, bool createStarted)
    {
        if (createStarted)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                if (await deployer.DeleteAsync(deployment.BaseUrl, deployment.OllamaModel, timeout.Token))
                    Log(log, RunLogLevel.Warning, $"Removed the partly created {deployment.OllamaModel} from Ollama.");
            }
            catch (Exception ex) when (ex is OllamaDeployException or OperationCanceledException)
            {
                Log(log, RunLogLevel.Warning, $"Could not check Ollama for a partly created model: {ex.Message}");
            }
        }
    }

    private static void Log(WorkLog log, RunLogLevel level, string message) => log.Append(level, message);
}
