using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Runs;

/// <summary>Creates, lists and controls training runs. Execution is delegated to the <see cref="IWorkQueue"/>.</summary>
public sealed class TrainingRunService(
    IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, IWorkQueue queue, TimeProvider clock,
    ICurrentUser? currentUser = null)
{
    private readonly WorkStore _work = new(dbFactory, clock);
    private readonly ICurrentUser _user = currentUser ?? SystemUser.Instance;

    public const string NameField = nameof(NewTrainRequest.Name);
    public const string BaseModelField = nameof(NewTrainRequest.BaseModelId);
    public const string DatasetField = nameof(NewTrainRequest.DatasetVersionId);
    public const string MethodField = nameof(NewTrainRequest.MethodId);
    public const string DeviceField = nameof(NewTrainRequest.Device);
    public static readonly string[] Devices = ["auto", "cpu", "cuda"];

    /// <summary>One of <see cref="Devices"/>, or "cuda:N" for the GPU with index N (the worker checks that it exists).</summary>
    public static bool IsDevice(string device) =>
        Devices.Contains(device) || (device.StartsWith("cuda:", StringComparison.Ordinal) && device.Length > 5 && device[5..].All(char.IsAsciiDigit));

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public RunFiles FilesOf(TrainingRun run) => FilesOf(run.Id);

    /// <summary>The files of the run with id <paramref name="runId"/>, whether or not such a run exists.</summary>
    public RunFiles FilesOf(Guid runId) => new(Path.Combine(directories.Root, DataDirectories.RelativeRunFolder(runId)));

    public async Task<IReadOnlyList<TrainingRun>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.TrainingRuns.AsNoTracking().OrderByDescending(r => r.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    public async Task<TrainingRun?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.TrainingRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
    }

    /// <summary>Every rule of the new-train form, checked against the database: nothing is written.</summary>
    public async Task<ValidationErrors> ValidateAsync(NewTrainRequest request, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return (await ValidateAsync(db, request, cancellationToken)).Errors;
    }

    /// <summary>Validates, records the run as Queued with its full configuration, and hands it to the scheduler.</summary>
    public async Task<OperationResult<TrainingRun>> StartAsync(NewTrainRequest request, CancellationToken cancellationToken = default)
    {
        if (_user.DenyChange() is { } denied) return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var (errors, baseModel, method) = await ValidateAsync(db, request, cancellationToken);
        if (errors.Any) return OperationResult<TrainingRun>.Failure(errors);

        var now = clock.GetUtcNow().UtcDateTime;
        var run = new TrainingRun
        {
            // Random (v4), not time-ordered: the first four characters name the customized model.
            Id = Guid.NewGuid(),
            Name = request.Name.Trim(),
            BaseModelId = baseModel!.Id,
            BaseModelTechnicalName = baseModel.TechnicalName,
            DatasetVersionId = request.DatasetVersionId,
            MethodId = method!.Id,
            MethodName = method.Name,
            Algorithm = method.Algorithm,
            ParametersJson = CompleteParameters(method, request.Parameters).ToJsonString(),
            Device = request.Device,
            CreatedAtUtc = now,
            CreatedBy = _user.Name,
        };
        run.Enqueue(now);
        db.TrainingRuns.Add(run);
        AuditTrail.Add(db, _user, clock, AuditActions.Started, AuditObjects.Train, run.Id, run.Name, $"{run.MethodName} on {run.BaseModelTechnicalName}");
        await db.SaveChangesAsync(cancellationToken);

        var files = FilesOf(run);
        Directory.CreateDirectory(files.Directory);
        await File.WriteAllTextAsync(files.ConfigPath, JsonSerializer.Serialize(run, Indented), cancellationToken);

        try
        {
            await queue.EnqueueAsync(WorkKind.Train, run.Id, cancellationToken);
        }
        catch (Exception ex)
        {
            await FinishAsync(run.Id, WorkStatus.Failed, $"The run could not be queued: {ex.Message}", cancellationToken);
            return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, $"The run could not be queued: {ex.Message}");
        }
        return OperationResult<TrainingRun>.Success(run);
    }

    /// <summary>A queued run is removed from the queue; a running one is asked to stop at its next step.</summary>
    public async Task<OperationResult<TrainingRun>> CancelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var run = await GetAsync(id, cancellationToken);
        if (run is null) return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, "This run no longer exists.");
        if (_user.DenyAlter(run.CreatedBy, "cancel it") is { } denied) return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, denied);
        if (run.IsFinished) return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, $"The run already ended ({run.Status}).");

        // The request file also stops a worker that started between the status read and the unscheduling.
        FilesOf(run).RequestCancel();
        await AuditTrail.WriteAsync(dbFactory, _user, clock, AuditActions.Cancelled, AuditObjects.Train, run.Id, run.Name, $"was {run.Status}", cancellationToken);
        if (run.Status == WorkStatus.Queued && await queue.RemoveAsync(WorkKind.Train, id, cancellationToken))
        {
            await FinishAsync(id, WorkStatus.Cancelled, null, cancellationToken);
        }
        else if (!await queue.ContainsAsync(WorkKind.Train, id, cancellationToken)
            && (await _work.Leases.GetAsync(WorkKind.Train, id, cancellationToken))?.IsHeldAt(clock.GetUtcNow().UtcDateTime) != true)
        {
            // Nothing runs it (its job is gone, nobody holds its lease: a state change the database refused): no worker
            // would read the request, so it ends here.
            await FinishAsync(id, WorkStatus.Cancelled, null, cancellationToken);
        }
        return OperationResult<TrainingRun>.Success((await GetAsync(id, cancellationToken))!);
    }

    /// <summary>What deleting a train removes, as the confirmation and the API say it.</summary>
    public static readonly IReadOnlyList<string> DeletionGoes = ["its folder under runs/: metrics, charts, log and checkpoints", "its entry in the trains list"];

    /// <summary>What deleting a train keeps.</summary>
    public static readonly IReadOnlyList<string> DeletionStays =
        ["the customized and complete models made from it (their cards keep its settings)", "its evaluations", "its dataset and base model"];

    public static string DeletionEffect => $"Goes: {string.Join("; ", DeletionGoes)}. Stays: {string.Join("; ", DeletionStays)}.";

    /// <summary>
    /// Deletes a finished train: its folder under runs/ (metrics, charts, log, checkpoints) and its row. Models made
    /// from it stay (a customized model's adapter lives in adapters/, its card keeps the lineage). Refused while it
    /// is queued or running: cancel it first.
    /// </summary>
    public async Task<OperationResult<bool>> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.TrainingRuns.FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (run is null) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This run no longer exists.");
        if (_user.DenyAlter(run.CreatedBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (!run.IsFinished)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General,
                $"{run.Name} is {run.Status.ToString().ToLowerInvariant()}: a train cannot be deleted while it runs. Cancel it first.");
        }
        var folder = FilesOf(run).Directory;
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General, $"The train's folder could not be removed: {ex.Message}");
        }
        db.TrainingRuns.Remove(run);
        AuditTrail.Add(db, _user, clock, AuditActions.Deleted, AuditObjects.Train, run.Id, run.Name);
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<bool>.Success(true);
    }

    /// <summary>Queues a failed or cancelled run again; the worker continues from its last checkpoint.</summary>
    public async Task<OperationResult<TrainingRun>> ResumeAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.TrainingRuns.FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (run is null) return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, "This run no longer exists.");
        if (_user.DenyAlter(run.CreatedBy, "resume it") is { } denied) return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, denied);
        if (run.Status is not (WorkStatus.Failed or WorkStatus.Cancelled))
        {
            return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, $"Only failed or cancelled runs can be resumed; this one is {run.Status}.");
        }
        if (await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == run.BaseModelId, cancellationToken) is { } baseModel
            && new ModelPathResolver(directories.ModelsRoot).ResolveRegistered(baseModel.TechnicalName, baseModel.RelativePath).Error is { } folderError)
        {
            return OperationResult<TrainingRun>.Failure(OperationResult<TrainingRun>.General, folderError);
        }
        AuditTrail.Add(db, _user, clock, AuditActions.Resumed, AuditObjects.Train, run.Id, run.Name, $"was {run.Status}");
        run.Enqueue(clock.GetUtcNow().UtcDateTime);
        await db.SaveChangesAsync(cancellationToken);
        var files = FilesOf(run);
        if (files.CancelRequested) File.Delete(files.CancelRequestPath);
        await queue.EnqueueAsync(WorkKind.Train, id, cancellationToken);
        return OperationResult<TrainingRun>.Success(run);
    }

    /// <summary>Marks the run Running for a new worker attempt. False when it is no longer meant to run.</summary>
    public Task<bool> MarkRunningAsync(Guid id, CancellationToken cancellationToken = default) =>
        _work.StartAsync<TrainingRun>(id, cancellationToken);

    /// <summary>The device the run's current worker trains on ("cpu", "cuda:0").</summary>
    public async Task RecordDeviceAsync(Guid id, string device, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.TrainingRuns.Where(r => r.Id == id).ExecuteUpdateAsync(u => u.SetProperty(r => r.DeviceUsed, device), cancellationToken);
    }

    /// <summary>
    /// The devices asked for by the runs still waiting that were queued before <paramref name="run"/> (ties broken by id,
    /// so every process sees the same line): a run does not take a device one of them could take.
    /// </summary>
    public async Task<IReadOnlyList<string>> DevicesAskedAheadOfAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var waiting = await db.TrainingRuns.AsNoTracking().Where(r => r.Status == WorkStatus.Queued && r.Id != run.Id)
            .Select(r => new { r.Id, r.QueuedAtUtc, r.Device }).ToListAsync(cancellationToken);
        return waiting.Where(r => r.QueuedAtUtc < run.QueuedAtUtc || (r.QueuedAtUtc == run.QueuedAtUtc && r.Id.CompareTo(run.Id) < 0))
            .Select(r => r.Device).ToList();
    }

    /// <summary>
    /// Writes the run's summary columns (step, total, epoch, last/best loss, best evaluation loss, throughput, ETA) from
    /// the summary of its metric points: the database holds what the points say, never a value of its own.
    /// </summary>
    public async Task UpdateSummaryAsync(Guid id, RunSummary summary, CancellationToken cancellationToken = default)
    {
        if (summary.Points == 0) return;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.TrainingRuns.FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (run is null) return;
        Apply(run, summary);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The row's summary columns from <paramref name="summary"/>; a total no point recorded (older files) keeps the row's.</summary>
    public static void Apply(TrainingRun run, RunSummary summary)
    {
        if (summary.Points == 0) return;
        run.Step = summary.Step;
        if (summary.TotalSteps > 0) run.TotalSteps = summary.TotalSteps;
        run.Epoch = summary.Epoch;
        run.LastLoss = summary.LastLoss;
        run.BestLoss = summary.BestLoss;
        run.BestEvalLoss = summary.BestEvalLoss;
        run.TokensPerSecond = summary.TokensPerSecond;
        run.EtaSeconds = run.IsFinished ? null : summary.EtaSeconds;
    }

    /// <summary>Ends the run (a run that already ended keeps its first outcome).</summary>
    public Task FinishAsync(Guid id, WorkStatus status, string? failureReason, CancellationToken cancellationToken = default,
        DateTime? finishedAtUtc = null) =>
        _work.FinishAsync<TrainingRun>(id, status, failureReason, cancellationToken, finishedAtUtc);

    /// <summary>Runs that were Queued or Running when the console stopped: they are queued again on start-up.</summary>
    public Task<IReadOnlyList<Guid>> UnfinishedRunIdsAsync(CancellationToken cancellationToken = default) =>
        _work.UnfinishedIdsAsync<TrainingRun>(cancellationToken);

    /// <summary>The dataset kind an algorithm trains on.</summary>
    public static DatasetKind RequiredKind(TrainingAlgorithm algorithm) => algorithm switch
    {
        TrainingAlgorithm.Sft => DatasetKind.Sft,
        TrainingAlgorithm.Dpo => DatasetKind.Preference,
        _ => DatasetKind.PromptAnswer,
    };

    /// <summary>The method's defaults with the form's values on top: a run records every value it uses.</summary>
    private static JsonObject CompleteParameters(TrainingMethod method, JsonObject values)
    {
        var complete = method.ResolvedDefaults();
        foreach (var (key, value) in values) complete[key] = value?.DeepClone();
        return complete;
    }

    private async Task<(ValidationErrors Errors, BaseModel? BaseModel, TrainingMethod? Method)> ValidateAsync(
        DeepExtensionDbContext db, NewTrainRequest request, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        if (TrainName.Validate(request.Name) is { } nameError) errors.Add(NameField, nameError);
        if (!IsDevice(request.Device)) errors.Add(DeviceField, $"The device must be one of {string.Join(", ", Devices)} or cuda:N (a GPU's index).");

        var baseModel = await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == request.BaseModelId, cancellationToken);
        if (baseModel is null)
        {
            errors.Add(BaseModelField, "Choose a base model.");
        }
        else if (!baseModel.Card.HasTokenizer || !baseModel.Card.HasChatTemplate)
        {
            errors.Add(BaseModelField, $"{baseModel.TechnicalName} has no {(baseModel.Card.HasTokenizer ? "chat template" : "tokenizer")}; training needs both.");
        }
        else if (new ModelPathResolver(directories.ModelsRoot).ResolveRegistered(baseModel.TechnicalName, baseModel.RelativePath).Error is { } folderError)
        {
            // Registered folders are checked again on use: one may have been replaced by a link out of the models root since.
            errors.Add(BaseModelField, folderError);
        }

        var method = await db.TrainingMethods.AsNoTracking().FirstOrDefaultAsync(m => m.Id == request.MethodId, cancellationToken);
        if (method is null)
        {
            errors.Add(MethodField, "Choose a training method.");
        }
        else if (method.Definition.NotStartableReason is { } reason)
        {
            errors.Add(MethodField, reason);
        }

        var version = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == request.DatasetVersionId, cancellationToken);
        if (version is null)
        {
            errors.Add(DatasetField, "Choose a dataset version.");
        }
        else if (method is not null && version.Kind != RequiredKind(method.Algorithm))
        {
            errors.Add(DatasetField, $"{method.Definition.DisplayName} trains on {method.Definition.DatasetRequirement.ToLowerInvariant()}; this dataset holds {version.Format} data.");
        }

        if (method is not null)
        {
            var parameterErrors = TrainingMethodService.ValidateValues(method.Algorithm, request.Parameters);
            foreach (var (key, messages) in parameterErrors.ToDictionary())
            {
                foreach (var message in messages) errors.Add(key, message);
            }
            // The typed values: a key with an error above reads as its default here, so only checks on keys without one use it.
            var typed = TrainingParameters.FromJson(CompleteParameters(method, request.Parameters), method.Algorithm);
            const string maxTokens = TrainingParameters.Keys.MaxTokens, maxCompletionTokens = TrainingParameters.Keys.MaxCompletionTokens;
            if (!errors.Has(maxTokens) && baseModel?.Card.ContextLength is { } context && typed.MaxTokens > context)
            {
                errors.Add(maxTokens, $"Max tokens {typed.MaxTokens} exceeds {baseModel.TechnicalName}'s context length of {context}.");
            }
            // GRPO's and PPO's prompt and sampled completion share max tokens; a completion budget that fills it leaves no prompt.
            if (method.Algorithm is TrainingAlgorithm.Grpo or TrainingAlgorithm.Ppo && !errors.Has(maxTokens) && !errors.Has(maxCompletionTokens)
                && typed.MaxCompletionTokens >= typed.MaxTokens)
            {
                errors.Add(maxCompletionTokens, $"Max completion tokens ({typed.MaxCompletionTokens}) must be below max tokens ({typed.MaxTokens}): the prompt and the completion share them.");
            }
            if (method.Algorithm == TrainingAlgorithm.Ppo && !errors.Has(TrainingParameters.Keys.RewardWeights) && !errors.Has(TrainingParameters.Keys.RewardFunctions))
            {
                try
                {
                    GrpoRewardFunctions.ParseWeights(typed.RewardWeights, typed.RewardFunctions.Count);
                }
                catch (InvalidDataException e)
                {
                    errors.Add(TrainingParameters.Keys.RewardWeights, e.Message);
                }
            }
        }
        return (errors, baseModel, method);
    }
}

