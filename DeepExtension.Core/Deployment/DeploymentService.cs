using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Data;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;
using OllamaSharp;
using OllamaSharp.Models.Chat;

namespace DeepExtension.Core.Deployment;

/// <summary>Where a deployed model stands in its Ollama server.</summary>
public enum LiveAvailability
{
    /// <summary>Still being created, or the creation failed.</summary>
    NotDeployed,
    /// <summary>Listed by /api/tags.</summary>
    Available,
    /// <summary>Listed by /api/ps: loaded in memory.</summary>
    Loaded,
    /// <summary>The server answers but does not have the model (removed outside the console).</summary>
    Missing,
    Unreachable,
}

public sealed record LiveState(LiveAvailability Availability, long? SizeBytes, long? VramBytes, DateTimeOffset? ExpiresAt, string? QuantizationLevel, string? Detail);

/// <summary>A message of the Live Models chat box.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>
/// Deploys customized and complete models to Ollama (the work runs as a background job), lists the deployments with
/// their state in Ollama, chats with them and removes them.
/// </summary>
public sealed class DeploymentService(
    IDbContextFactory<DeepExtensionDbContext> dbFactory,
    DataDirectories directories,
    BaseModelService baseModels,
    CustomizedModelService customizedModels,
    CompleteModelService completeModels,
    DeploymentEnvironmentService environments,
    OllamaDeployer deployer,
    IWorkQueue queue,
    TimeProvider clock,
    ICurrentUser? currentUser = null)
{
    private readonly WorkStore _work = new(dbFactory, clock);

    public const string EnvironmentField = nameof(DeployRequest.EnvironmentId);
    public const string NameField = nameof(DeployRequest.OllamaModel);
    public const string QuantizationField = nameof(DeployRequest.Quantization);
    public const string General = OperationResult<ModelDeployment>.General;

    /// <summary>The source folders a deployment job works from.</summary>
    public sealed record Source(
        DeploymentSourceKind Kind, Guid Id, string Name, BaseModel BaseModel, string? SystemPrompt,
        string? CompleteFolder, string? AdapterFolder, string BaseFolder)
    {
        /// <summary>The folder whose tokenizer decides the stop strings.</summary>
        public string TokenizerFolder => CompleteFolder ?? BaseFolder;

        public bool MergesFirst => Kind == DeploymentSourceKind.Customized && !OllamaModelFiles.OllamaImportsAdaptersFor(BaseModel.Card.ModelType);
    }

    public async Task<IReadOnlyList<ModelDeployment>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ModelDeployments.AsNoTracking().OrderByDescending(d => d.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    public async Task<ModelDeployment?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ModelDeployments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, cancellationToken);
    }

    /// <summary>A deployment's folder: its log and, during the job, a merged model.</summary>
    public string FolderOf(Guid deploymentId) => directories.DeploymentFolder(deploymentId);

    /// <summary>The deployment's log, deployments/&lt;id&gt;/deploy.log.jsonl (train.log.jsonl before; still read).</summary>
    public WorkLog LogOf(Guid deploymentId) => WorkLog.In(FolderOf(deploymentId), WorkKind.Deploy);

    /// <summary>The deployment's log (its stages, merge worker output and errors), oldest first.</summary>
    public IReadOnlyList<LogLine> ReadLog(Guid deploymentId) => LogOf(deploymentId).ReadAll();

    /// <summary>What the Deploy dialog shows; fails with the reason when the model cannot be deployed at all.</summary>
    public async Task<OperationResult<DeployPlan>> PlanAsync(DeploymentSourceKind kind, Guid sourceId, CancellationToken cancellationToken = default)
    {
        var (source, error) = await ResolveSourceAsync(kind, sourceId, cancellationToken);
        if (source is null) return OperationResult<DeployPlan>.Failure(General, error!);
        if (source.BaseModel.DeploymentTemplate is not { Length: > 0 } template)
        {
            return OperationResult<DeployPlan>.Failure(General,
                $"The base model {source.BaseModel.TechnicalName} has no Deployment Template File. Ollama needs it to format prompts; add it on the Base Models page (Edit), then deploy again.");
        }
        var stops = OllamaModelFiles.StopTokens(source.TokenizerFolder);
        return OperationResult<DeployPlan>.Success(new DeployPlan(
            kind, source.Id, source.Name, source.BaseModel.Id, source.BaseModel.TechnicalName, source.BaseModel.Card.ModelType ?? source.BaseModel.Card.Architecture,
            source.MergesFirst, template, source.SystemPrompt, stops, OllamaModelName.DefaultFor(source.Name, OllamaQuantization.None)));
    }

    /// <summary>
    /// Checks everything that can be checked before anything is created (template, environment, Ollama reachable,
    /// name free), then records the deployment as Queued and queues its job.
    /// </summary>
    public async Task<OperationResult<ModelDeployment>> DeployAsync(DeployRequest request, CancellationToken cancellationToken = default)
    {
        if ((currentUser ?? SystemUser.Instance).DenyChange() is { } denied) return OperationResult<ModelDeployment>.Failure(General, denied);
        var plan = await PlanAsync(request.SourceKind, request.SourceModelId, cancellationToken);
        if (!plan.Succeeded) return OperationResult<ModelDeployment>.Failure(General, plan.AllErrors);
        var errors = new ValidationErrors();
        if (!OllamaQuantization.IsKnown(request.Quantization))
            errors.Add(QuantizationField, $"Choose one of {string.Join(", ", OllamaQuantization.All)}.");
        if (OllamaModelName.Validate(request.OllamaModel) is { } nameError) errors.Add(NameField, nameError);
        var environment = (await environments.ListAsync(cancellationToken)).FirstOrDefault(e => e.Id == request.EnvironmentId);
        if (environment is null) errors.Add(EnvironmentField, "Choose a deployment environment (Deployment Tools page).");
        if (errors.Any) return OperationResult<ModelDeployment>.Failure(errors);

        var name = request.OllamaModel.Trim();
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var active = await db.ModelDeployments.AsNoTracking()
                .Where(d => d.EnvironmentId == environment!.Id && d.Status != WorkStatus.Failed)
                .Select(d => d.OllamaModel).ToListAsync(cancellationToken);
            if (active.Any(existing => OllamaModelName.SameModel(existing, name)))
                return OperationResult<ModelDeployment>.Failure(NameField, $"{name} is already deployed to {environment!.Name}; choose another name or remove that deployment first.");
        }
        // The listed environment shows its URL masked; the server is reached (and the deployment keeps) the stored one.
        var serverUrl = await environments.StoredUrlAsync(environment!.Id, cancellationToken);
        if (serverUrl is null) return OperationResult<ModelDeployment>.Failure(EnvironmentField, "Choose a deployment environment (Deployment Tools page).");
        var connection = await environments.TestConnectionAsync(serverUrl, cancellationToken);
        if (!connection.Reachable)
            return OperationResult<ModelDeployment>.Failure(EnvironmentField, $"{connection.Error} Nothing was deployed.");
        var existingModels = await TryListModelsAsync(serverUrl, cancellationToken);
        if (existingModels is null)
            return OperationResult<ModelDeployment>.Failure(EnvironmentField, $"Ollama at {OllamaEndpoint.Mask(environment.BaseUrl)} did not list its models. Nothing was deployed.");
        if (existingModels.Any(m => OllamaModelName.SameModel(m.Name, name)))
            return OperationResult<ModelDeployment>.Failure(NameField, $"Ollama at {OllamaEndpoint.Mask(environment.BaseUrl)} already has a model named {name}; choose another name.");

        var value = plan.Value!;
        var now = clock.GetUtcNow().UtcDateTime;
        var deployment = new ModelDeployment
        {
            Id = Guid.CreateVersion7(),
            OllamaModel = name,
            SourceKind = request.SourceKind,
            SourceModelId = request.SourceModelId,
            SourceModelName = value.SourceModelName,
            BaseModelId = value.BaseModelId,
            BaseModelName = value.BaseModelName,
            EnvironmentId = environment.Id,
            EnvironmentName = environment.Name,
            BaseUrl = serverUrl,
            Quantization = request.Quantization,
            SystemPrompt = value.SystemPrompt,
            MergesFirst = value.MergesFirst,
            CreatedAtUtc = now,
            CreatedBy = (currentUser ?? SystemUser.Instance).Name,
        };
        deployment.Enqueue(now);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.ModelDeployments.Add(deployment);
            AuditTrail.Add(db, currentUser ?? SystemUser.Instance, clock, AuditActions.Deployed, AuditObjects.Deployment, deployment.Id, deployment.OllamaModel,
                $"{deployment.SourceModelName} to {deployment.EnvironmentName}");
            await db.SaveChangesAsync(cancellationToken);
        }
        try
        {
            await queue.EnqueueAsync(WorkKind.Deploy, deployment.Id, cancellationToken);
        }
        catch (Exception ex)
        {
            await FailAsync(deployment.Id, $"The deployment could not be queued: {ex.Message}", CancellationToken.None);
            return OperationResult<ModelDeployment>.Failure(General, $"The deployment could not be queued: {ex.Message}");
        }
        return OperationResult<ModelDeployment>.Success(deployment);
    }

    /// <summary>The source of a deployment as it is now (the job reads it when it starts).</summary>
    public async Task<(Source? Source, string? Error)> ResolveSourceAsync(DeploymentSourceKind kind, Guid sourceId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (kind == DeploymentSourceKind.Customized)
        {
            var model = await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == sourceId, cancellationToken);
            if (model is null) return (null, "This customized model no longer exists.");
            var baseModel = await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == model.BaseModelId, cancellationToken);
            if (baseModel is null) return (null, "The base model of this customized model is no longer registered.");
            var run = await db.TrainingRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == model.TrainingRunId, cancellationToken);
            var system = (run?.TrainingParameters ?? model.TrainingCard?.Parameters)?.SystemPrompt;
            var adapter = customizedModels.FolderOf(model);
            if (!Directory.Exists(adapter)) return (null, $"The adapter folder {model.AdapterPath} is missing.");
            var (baseFolder, baseError) = baseModels.ResolveFolder(baseModel);
            if (baseFolder is null) return (null, baseError);
            return (new Source(kind, model.Id, model.Name, baseModel, Blank(system), null, adapter, baseFolder), null);
        }
        else
        {
            var model = await db.CompleteModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == sourceId, cancellationToken);
            if (model is null) return (null, "This complete model no longer exists.");
            var baseModel = await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == model.BaseModelId, cancellationToken);
            if (baseModel is null) return (null, "The base model of this complete model is no longer registered; its Deployment Template is needed.");
            var folder = completeModels.FolderOf(model);
            if (!Directory.Exists(folder)) return (null, $"The model folder {model.Path} is missing.");
            var system = model.TrainingCard?.Parameters.SystemPrompt;
            var (baseFolder, baseError) = baseModels.ResolveFolder(baseModel);
            if (baseFolder is null) return (null, baseError);
            return (new Source(kind, model.Id, model.Name, baseModel, Blank(system), folder, null, baseFolder), null);
        }
    }

    public Task<bool> MarkRunningAsync(Guid id, CancellationToken cancellationToken = default) =>
        _work.StartAsync<ModelDeployment>(id, cancellationToken);

    public Task<IReadOnlyList<Guid>> UnfinishedIdsAsync(CancellationToken cancellationToken = default) =>
        _work.UnfinishedIdsAsync<ModelDeployment>(cancellationToken);

    /// <summary>The console is stopping mid-deployment: back to Queued, to start over at the next start.</summary>
    public Task RequeueAsync(Guid id, CancellationToken cancellationToken = default) =>
        _work.EnqueueAsync<ModelDeployment>(id, d => d.Status == WorkStatus.Running, cancellationToken);

    public async Task ReportAsync(Guid id, DeployProgress progress, CancellationToken cancellationToken = default)
    {
        // Tracked, not a bulk update: SaveChanges is what tells the pages (WorkChanges) that the deployment moved on.
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deployment = await db.ModelDeployments.SingleOrDefaultAsync(d => d.Id == id && d.Status == WorkStatus.Running, cancellationToken);
        if (deployment is null) return;
        deployment.Progress = Math.Clamp(progress.Fraction, 0, 1);
        deployment.Stage = progress.Stage.Length > 400 ? progress.Stage[..400] : progress.Stage;
        await db.SaveChangesAsync(cancellationToken);
    }

    public Task SucceedAsync(Guid id, long? sizeBytes, CancellationToken cancellationToken = default) =>
        _work.UpdateAsync<ModelDeployment>(id, (deployment, now) =>
        {
            deployment.SizeBytes = sizeBytes;
            return deployment.Finish(WorkStatus.Succeeded, null, now);
        }, cancellationToken);

    public Task FailAsync(Guid id, string reason, CancellationToken cancellationToken = default) =>
        _work.FinishAsync<ModelDeployment>(id, WorkStatus.Failed, reason, cancellationToken);

    /// <summary>The file whose presence asks the deployment's job to stop (the job may run in another process).</summary>
    public string CancelRequestPath(Guid id) => Path.Combine(FolderOf(id), "cancel.request");

    public bool CancelRequested(Guid id) => File.Exists(CancelRequestPath(id));

    /// <summary>
    /// Cancels a deployment that has not finished: a queued one leaves the queue; a running one is asked to stop (its
    /// job stops the upload or create within a second, removes a half-created model and ends it Cancelled); one that
    /// nothing runs any more ends Cancelled here.
    /// </summary>
    public async Task<OperationResult<ModelDeployment>> CancelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var deployment = await GetAsync(id, cancellationToken);
        if (deployment is null) return OperationResult<ModelDeployment>.Failure(General, "This deployment no longer exists.");
        var user = currentUser ?? SystemUser.Instance;
        if (user.DenyAlter(deployment.CreatedBy, "cancel it") is { } denied) return OperationResult<ModelDeployment>.Failure(General, denied);
        if (deployment.IsFinished) return OperationResult<ModelDeployment>.Failure(General, $"{deployment.OllamaModel} already ended ({deployment.Status}).");

        Directory.CreateDirectory(FolderOf(id));
        await File.WriteAllTextAsync(CancelRequestPath(id), clock.GetUtcNow().UtcDateTime.ToString("O"), cancellationToken);
        await AuditTrail.WriteAsync(dbFactory, user, clock, AuditActions.Cancelled, AuditObjects.Deployment, id, deployment.OllamaModel, $"was {deployment.Status}", cancellationToken);
        if (deployment.Status == WorkStatus.Queued && await queue.RemoveAsync(WorkKind.Deploy, id, cancellationToken)
            || !await queue.ContainsAsync(WorkKind.Deploy, id, cancellationToken)
            && (await _work.Leases.GetAsync(WorkKind.Deploy, id, cancellationToken))?.IsHeldAt(clock.GetUtcNow().UtcDateTime) != true)
        {
            LogOf(id).Append(RunLogLevel.Warning, "Cancelled before it started uploading.");
            await _work.FinishAsync<ModelDeployment>(id, WorkStatus.Cancelled, null, cancellationToken);
        }
        return OperationResult<ModelDeployment>.Success((await GetAsync(id, cancellationToken))!);
    }

    /// <summary>
    /// Removes a deployment: deletes the model in Ollama (already gone is fine), then the entry. A failed deployment
    /// created nothing in Ollama, so only its entry goes. Refused while it is being created.
    /// </summary>
    public async Task<OperationResult<bool>> RemoveAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var deployment = await GetAsync(id, cancellationToken);
        if (deployment is null) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This deployment no longer exists.");
        if ((currentUser ?? SystemUser.Instance).DenyAlter(deployment.CreatedBy, "remove it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (!deployment.IsFinished)
            return OperationResult<bool>.Failure(OperationResult<bool>.General, $"{deployment.OllamaModel} is still being deployed; remove it when that has finished.");
        if (deployment.Status == WorkStatus.Succeeded)
        {
            try
            {
                await deployer.DeleteAsync(deployment.BaseUrl, deployment.OllamaModel, cancellationToken);
            }
            catch (OllamaDeployException ex)
            {
                return OperationResult<bool>.Failure(OperationResult<bool>.General, $"{ex.Message} The deployment was kept.");
            }
        }
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.ModelDeployments.Where(d => d.Id == id).ExecuteDeleteAsync(cancellationToken);
        AuditTrail.Add(db, currentUser ?? SystemUser.Instance, clock, AuditActions.Removed, AuditObjects.Deployment, id, deployment.OllamaModel, $"from {deployment.EnvironmentName}");
        await db.SaveChangesAsync(cancellationToken);
        Folders.DeleteQuietly(FolderOf(id));
        return OperationResult<bool>.Success(true);
    }

    /// <summary>Reads /api/tags and /api/ps once per server and says where each deployment stands.</summary>
    public async Task<IReadOnlyDictionary<Guid, LiveState>> GetLiveStatesAsync(IReadOnlyList<ModelDeployment> deployments, CancellationToken cancellationToken = default)
    {
        var states = new Dictionary<Guid, LiveState>();
        foreach (var server in deployments.Where(d => d.Status == WorkStatus.Succeeded).GroupBy(d => d.BaseUrl))
        {
            IReadOnlyList<OllamaSharp.Models.Model>? tags = null;
            IReadOnlyList<OllamaSharp.Models.RunningModel>? running = null;
            string? error = null;
            try
            {
                using var http = deployer.CreateHttpClient(server.Key);
                http.Timeout = TimeSpan.FromSeconds(5);
                using var client = new OllamaApiClient(http);
                tags = (await client.ListLocalModelsAsync(cancellationToken)).ToList();
                running = (await client.ListRunningModelsAsync(cancellationToken)).ToList();
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
            {
                error = ex is TaskCanceledException ? "did not answer in time" : ex.Message;
            }
            foreach (var deployment in server)
            {
                if (error is not null)
                {
                    states[deployment.Id] = new LiveState(LiveAvailability.Unreachable, deployment.SizeBytes, null, null, null, $"Ollama at {OllamaEndpoint.Mask(server.Key)}: {error}");
                    continue;
                }
                var tag = tags!.FirstOrDefault(m => OllamaModelName.SameModel(m.Name, deployment.OllamaModel));
                var loaded = running!.FirstOrDefault(m => OllamaModelName.SameModel(m.Name, deployment.OllamaModel));
                states[deployment.Id] = tag is null
                    ? new LiveState(LiveAvailability.Missing, deployment.SizeBytes, null, null, null, "Ollama no longer has this model (removed outside the console).")
                    : loaded is not null
                        ? new LiveState(LiveAvailability.Loaded, tag.Size, loaded.SizeVram, loaded.ExpiresAt, tag.Details?.QuantizationLevel, null)
                        : new LiveState(LiveAvailability.Available, tag.Size, null, null, tag.Details?.QuantizationLevel, null);
            }
        }
        foreach (var deployment in deployments.Where(d => d.Status != WorkStatus.Succeeded))
        {
            states[deployment.Id] = new LiveState(LiveAvailability.NotDeployed, null, null, null, null, deployment.FailureReason);
        }
        return states;
    }

    /// <summary>Streams the deployed model's answer to the conversation, piece by piece as Ollama sends it.</summary>
    public async IAsyncEnumerable<string> ChatAsync(Guid deploymentId, IReadOnlyList<ChatTurn> conversation, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var deployment = await GetAsync(deploymentId, cancellationToken) ?? throw new OllamaDeployException("This deployment no longer exists.");
        if (deployment.Status != WorkStatus.Succeeded) throw new OllamaDeployException($"{deployment.OllamaModel} is not deployed.");
        using var http = deployer.CreateHttpClient(deployment.BaseUrl);
        using var client = new OllamaApiClient(http);
        var request = new ChatRequest
        {
            Model = deployment.OllamaModel,
            Messages = conversation.Select(t => new Message(new ChatRole(t.Role), t.Content)).ToList(),
            Stream = true,
        };
        var stream = client.ChatAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                string? piece;
                try
                {
                    if (!await stream.MoveNextAsync()) break;
                    piece = stream.Current?.Message?.Content;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw new OllamaDeployException($"Ollama at {OllamaEndpoint.Mask(deployment.BaseUrl)} could not answer with {deployment.OllamaModel}: {ex.Message}", ex);
                }
                if (!string.IsNullOrEmpty(piece)) yield return piece;
            }
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private async Task<IReadOnlyList<OllamaSharp.Models.Model>?> TryListModelsAsync(string baseUrl, CancellationToken cancellationToken)
    {
        try
        {
            using var http = deployer.CreateHttpClient(baseUrl);
            http.Timeout = TimeSpan.FromSeconds(10);
            using var client = new OllamaApiClient(http);
            return (await client.ListLocalModelsAsync(cancellationToken)).ToList();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;
}
