using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Evaluations;

/// <summary>A model to evaluate, by kind and id.</summary>
public sealed record ModelReference(EvaluatedModelKind Kind, Guid Id);

/// <summary>What "Evaluate" submits: the models (the first is the judge's baseline), the data, the decoding and the optional judge.</summary>
public sealed record EvaluationRequest(
    IReadOnlyList<ModelReference> Models,
    Guid DatasetVersionId,
    DatasetPart Part = DatasetPart.Validation,
    int MaxExamples = 0,
    int MaxNewTokens = 128,
    double Temperature = 0,
    double TopP = 1,
    long Seed = 42,
    Guid? RunId = null,
    Guid? JudgeDeploymentId = null,
    string? JudgePrompt = null,
    string? Name = null);

/// <summary>A dataset version the dialog offers: its label ("dataset v2 · 1,000 rows") and whether it has a validation split.</summary>
public sealed record EvaluationDataOption(Guid VersionId, string Label, bool HasValidation);

/// <summary>A deployed model that can judge.</summary>
public sealed record JudgeOption(Guid DeploymentId, string OllamaModel);

/// <summary>
/// What the Evaluate dialog offers for a model: every model sharing its base (base first), the ones preselected (the
/// base and the model), the dataset versions (its train's first), the deployed judges, and the train it came from.
/// </summary>
public sealed record EvaluationPlan(IReadOnlyList<EvaluatedModel> Candidates, IReadOnlyList<EvaluatedModel> Selected,
    IReadOnlyList<EvaluationDataOption> Data, Guid? DefaultVersionId, IReadOnlyList<JudgeOption> Judges, Guid? RunId);

/// <summary>
/// A model of a train (its customized model, or a complete model saved from it) in one succeeded evaluation: its
/// aggregates and, for reference, those of the evaluation's first model (the judge's baseline, usually the base) when
/// that is another model.
/// </summary>
public sealed record RunEvaluationScores(Evaluation Evaluation, string DataLabel, EvaluatedModel Model, ModelAggregate? Scores, ModelAggregate? Baseline);

/// <summary>What Compare shows of a train's evaluations: the scored ones (newest first) and those still queued or running.</summary>
public sealed record RunEvaluations(Guid RunId, IReadOnlyList<RunEvaluationScores> Scored, IReadOnlyList<Evaluation> Unfinished);

/// <summary>
/// Evaluations: submits them (recorded Queued, then queued as background work that runs
/// <c>DeepExtension.Jobs evaluate --evaluation ID</c>), lists them, and reads their results.
/// </summary>
public sealed class EvaluationService(IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, IWorkQueue queue,
    TimeProvider clock, ICurrentUser? currentUser = null)
{
    public const string ModelsField = nameof(EvaluationRequest.Models);
    public const string DatasetField = nameof(EvaluationRequest.DatasetVersionId);
    public const string PartField = nameof(EvaluationRequest.Part);
    public const string DecodingField = nameof(EvaluationRequest.MaxNewTokens);
    public const string JudgeField = nameof(EvaluationRequest.JudgeDeploymentId);

    public async Task<IReadOnlyList<Evaluation>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return (await db.Evaluations.AsNoTracking().ToListAsync(cancellationToken)).OrderByDescending(e => e.CreatedAtUtc).ToList();
    }

    public async Task<Evaluation?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Evaluations.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, cancellationToken);
    }

    /// <summary>Evaluations started from <paramref name="runId"/> or that include a model with id <paramref name="modelId"/>, newest first.</summary>
    public async Task<IReadOnlyList<Evaluation>> ForAsync(Guid? runId, Guid? modelId, CancellationToken cancellationToken = default)
    {
        var model = modelId?.ToString();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await db.Evaluations.AsNoTracking()
            .Where(e => (runId != null && e.RunId == runId) || (model != null && e.ModelsJson.Contains(model)))
            .ToListAsync(cancellationToken);
        return found.OrderByDescending(e => e.CreatedAtUtc).ToList();
    }

    /// <summary>
    /// The evaluations of each train's models, by train: every evaluation that includes the train's customized model or
    /// a complete model saved from it, or that was started from the train (then its non-base models count, since a model
    /// deleted since is known only by name).
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, RunEvaluations>> ForRunsAsync(IReadOnlyList<Guid> runIds, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var customized = await db.CustomizedModels.AsNoTracking().Where(m => runIds.Contains(m.TrainingRunId))
            .Select(m => new { m.Id, m.TrainingRunId }).ToListAsync(cancellationToken);
        var runOf = customized.ToDictionary(m => m.Id, m => m.TrainingRunId);
        var customizedIds = customized.Select(m => (Guid?)m.Id).ToList();
        foreach (var complete in await db.CompleteModels.AsNoTracking().Where(m => customizedIds.Contains(m.CustomizedModelId))
                     .Select(m => new { m.Id, m.CustomizedModelId }).ToListAsync(cancellationToken))
        {
            runOf[complete.Id] = runOf[complete.CustomizedModelId!.Value];
        }
        // Evaluations are few (each one is minutes of generation); their model lists are JSON, so they are matched here.
        var evaluations = (await db.Evaluations.AsNoTracking().ToListAsync(cancellationToken))
            .Where(e => (e.RunId is { } r && runIds.Contains(r)) || e.Models.Any(m => runOf.ContainsKey(m.Id)))
            .OrderByDescending(e => e.CreatedAtUtc).ToList();
        var versionIds = evaluations.Select(e => e.DatasetVersionId).Distinct().ToList();
        var versions = await db.DatasetVersions.AsNoTracking().Where(v => versionIds.Contains(v.Id)).ToListAsync(cancellationToken);
        var datasetIds = versions.Select(v => v.DatasetId).Distinct().ToList();
        var datasetNames = await db.Datasets.AsNoTracking().Where(d => datasetIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => d.Name, cancellationToken);

        string DataLabel(Evaluation e)
        {
            var version = versions.FirstOrDefault(v => v.Id == e.DatasetVersionId);
            var data = version is null ? "a deleted dataset" : $"{datasetNames.GetValueOrDefault(version.DatasetId, "dataset")} v{version.VersionNumber}";
            return $"{data} · {(e.Part == DatasetPart.Validation ? "validation split" : "all rows")} · {DisplayFormat.Count(e.ExampleCount)} examples · "
                + (e.Samples ? $"sampled (temperature {DisplayFormat.Significant(e.Temperature, 3)})" : "greedy");
        }

        var result = new Dictionary<Guid, RunEvaluations>();
        foreach (var runId in runIds.Distinct())
        {
            var scored = new List<RunEvaluationScores>();
            var unfinished = new List<Evaluation>();
            foreach (var evaluation in evaluations)
            {
                var models = evaluation.Models;
                var own = models.Where(m => runOf.GetValueOrDefault(m.Id) == runId).ToList();
                if (own.Count == 0 && evaluation.RunId == runId) own = models.Where(m => m.Kind != EvaluatedModelKind.Base && !runOf.ContainsKey(m.Id)).ToList();
                if (own.Count == 0) continue;
                if (!evaluation.IsFinished)
                {
                    unfinished.Add(evaluation);
                    continue;
                }
                if (evaluation.Status != WorkStatus.Succeeded) continue;
                var aggregates = evaluation.Aggregates;
                var baseline = models.Count > 0 ? aggregates.FirstOrDefault(a => a.Model == models[0].Name) : null;
                scored.AddRange(own.Select(m => new RunEvaluationScores(evaluation, DataLabel(evaluation), m,
                    aggregates.FirstOrDefault(a => a.Model == m.Name), baseline?.Model == m.Name ? null : baseline)));
            }
            result[runId] = new RunEvaluations(runId, scored, unfinished);
        }
        return result;
    }

    /// <summary>What the Evaluate dialog offers when started from <paramref name="kind"/> <paramref name="id"/> (a train: its customized model).</summary>
    public async Task<OperationResult<EvaluationPlan>> PlanAsync(EvaluatedModelKind kind, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        Guid baseId;
        Guid? runId = null;
        EvaluatedModel source;
        switch (kind)
        {
            case EvaluatedModelKind.Customized when await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken) is { } c:
                (baseId, runId, source) = (c.BaseModelId, c.TrainingRunId, new EvaluatedModel(kind, c.Id, c.Name));
                break;
            case EvaluatedModelKind.Complete when await db.CompleteModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken) is { } m:
                baseId = m.BaseModelId;
                source = new EvaluatedModel(kind, m.Id, m.Name);
                if (m.CustomizedModelId is { } from)
                    runId = await db.CustomizedModels.AsNoTracking().Where(x => x.Id == from).Select(x => (Guid?)x.TrainingRunId).FirstOrDefaultAsync(cancellationToken);
                break;
            case EvaluatedModelKind.Base when await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken) is { } b:
                baseId = b.Id;
                source = new EvaluatedModel(kind, b.Id, b.TechnicalName);
                break;
            default:
                return OperationResult<EvaluationPlan>.Failure(OperationResult<EvaluationPlan>.General, "This model no longer exists.");
        }
        var baseModel = await db.BaseModels.AsNoTracking().FirstAsync(b => b.Id == baseId, cancellationToken);
        var baseEntry = new EvaluatedModel(EvaluatedModelKind.Base, baseModel.Id, baseModel.TechnicalName);
        var candidates = new List<EvaluatedModel> { baseEntry };
        candidates.AddRange((await db.CustomizedModels.AsNoTracking().Where(m => m.BaseModelId == baseId).ToListAsync(cancellationToken))
            .OrderByDescending(m => m.CreatedAtUtc).Select(m => new EvaluatedModel(EvaluatedModelKind.Customized, m.Id, m.Name)));
        candidates.AddRange((await db.CompleteModels.AsNoTracking().Where(m => m.BaseModelId == baseId).ToListAsync(cancellationToken))
            .OrderByDescending(m => m.CreatedAtUtc).Select(m => new EvaluatedModel(EvaluatedModelKind.Complete, m.Id, m.Name)));

        var datasets = await db.Datasets.AsNoTracking().Include(d => d.Versions).ToListAsync(cancellationToken);
        var data = datasets.OrderBy(d => d.NameKey, StringComparer.Ordinal)
            .SelectMany(d => d.Versions.OrderByDescending(v => v.VersionNumber).Select(v => new EvaluationDataOption(v.Id,
                $"{d.Name} v{v.VersionNumber} · {DisplayFormat.Count(v.RowCount)} rows" + (v.HasValidationFile || v.ValidationPercent > 0 ? " · validation split" : ""),
                v.HasValidationFile || v.ValidationPercent > 0)))
            .ToList();
        Guid? defaultVersion = runId is { } r
            ? await db.TrainingRuns.AsNoTracking().Where(t => t.Id == r).Select(t => (Guid?)t.DatasetVersionId).FirstOrDefaultAsync(cancellationToken)
            : null;
        defaultVersion ??= data.FirstOrDefault(d => d.HasValidation)?.VersionId ?? data.FirstOrDefault()?.VersionId;
        var judges = (await db.ModelDeployments.AsNoTracking().Where(d => d.Status == WorkStatus.Succeeded).ToListAsync(cancellationToken))
            .OrderBy(d => d.OllamaModel, StringComparer.Ordinal).Select(d => new JudgeOption(d.Id, d.OllamaModel)).ToList();
        var selected = source == baseEntry ? [baseEntry] : new List<EvaluatedModel> { baseEntry, source };
        return OperationResult<EvaluationPlan>.Success(new EvaluationPlan(candidates, selected, data, defaultVersion, judges, runId));
    }

    /// <summary>evaluations/&lt;id&gt;: the results file and the log.</summary>
    public string FolderOf(Guid evaluationId) => directories.EvaluationFolder(evaluationId);

    public string ResultsPathOf(Guid evaluationId) => Path.Combine(FolderOf(evaluationId), EvaluationResults.FileName);

    public WorkLog LogOf(Guid evaluationId) => WorkLog.In(FolderOf(evaluationId), WorkKind.Evaluate);

    public IReadOnlyList<EvaluationExample> ReadResults(Guid evaluationId) => EvaluationResults.Read(ResultsPathOf(evaluationId));

    /// <summary>Validates the request, records the evaluation Queued and queues its job.</summary>
    public async Task<OperationResult<Evaluation>> StartAsync(EvaluationRequest request, CancellationToken cancellationToken = default)
    {
        if ((currentUser ?? SystemUser.Instance).DenyChange() is { } denied) return OperationResult<Evaluation>.Failure(OperationResult<Evaluation>.General, denied);
        var errors = new ValidationErrors();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        var models = new List<EvaluatedModel>();
        var baseIds = new HashSet<Guid>();
        foreach (var reference in request.Models.Distinct())
        {
            switch (reference.Kind)
            {
                case EvaluatedModelKind.Base when await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == reference.Id, cancellationToken) is { } b:
                    models.Add(new EvaluatedModel(EvaluatedModelKind.Base, b.Id, b.TechnicalName));
                    baseIds.Add(b.Id);
                    break;
                case EvaluatedModelKind.Customized when await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == reference.Id, cancellationToken) is { } c:
                    models.Add(new EvaluatedModel(EvaluatedModelKind.Customized, c.Id, c.Name));
                    baseIds.Add(c.BaseModelId);
                    break;
                case EvaluatedModelKind.Complete when await db.CompleteModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == reference.Id, cancellationToken) is { } m:
                    models.Add(new EvaluatedModel(EvaluatedModelKind.Complete, m.Id, m.Name));
                    baseIds.Add(m.BaseModelId);
                    break;
                default:
                    errors.Add(ModelsField, $"The {reference.Kind.ToString().ToLowerInvariant()} model {reference.Id} no longer exists.");
                    break;
            }
        }
        if (models.Count == 0 && !errors.Has(ModelsField)) errors.Add(ModelsField, "Choose at least one model.");
        if (baseIds.Count > 1) errors.Add(ModelsField, "The models must share one base model (their answers are compared with the same tokenizer).");
        if (models.Select(m => m.Name).Distinct(StringComparer.Ordinal).Count() != models.Count) errors.Add(ModelsField, "Two of the models have the same name.");
        if (baseIds.Count == 1 && await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == baseIds.Single(), cancellationToken) is { } evaluatedBase
            && new ModelPathResolver(directories.ModelsRoot).ResolveRegistered(evaluatedBase.TechnicalName, evaluatedBase.RelativePath).Error is { } folderError)
            errors.Add(ModelsField, folderError);

        var version = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == request.DatasetVersionId, cancellationToken);
        if (version is null) errors.Add(DatasetField, "Choose a dataset version.");
        else if (request.Part == DatasetPart.Validation && !version.HasValidationFile && version.ValidationPercent <= 0)
            errors.Add(PartField, "This dataset version has no validation split; evaluate on all of it or choose another version.");
        else if (request.Part == DatasetPart.Validation && !version.HasValidationFile
                 && DatasetSplit.CountValidation(version.RowCount, version.ValidationPercent, version.ContentSha256) == 0)
            errors.Add(PartField, "The validation split of this version holds no rows.");

        if (request.MaxNewTokens is < 1 or > 8192) errors.Add(DecodingField, "Max new tokens must be between 1 and 8192.");
        if (request.Temperature is < 0 or > 5) errors.Add(DecodingField, "Temperature must be between 0 (greedy) and 5.");
        if (request.TopP is <= 0 or > 1) errors.Add(DecodingField, "Top-p must be in (0, 1].");
        if (request.MaxExamples < 0) errors.Add(DecodingField, "Max examples cannot be negative (0 = all).");

        if (request.JudgeDeploymentId is { } judgeId)
        {
            var judge = await db.ModelDeployments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == judgeId, cancellationToken);
            if (judge is null || judge.Status != WorkStatus.Succeeded) errors.Add(JudgeField, "The judge must be a model deployed in Ollama (Live Models).");
            if (models.Count < 2) errors.Add(JudgeField, "The judge compares two models: choose at least two.");
            var prompt = request.JudgePrompt ?? LlmJudge.DefaultPrompt;
            var missing = LlmJudge.Placeholders.Where(p => !prompt.Contains(p, StringComparison.Ordinal)).ToList();
            if (missing.Count > 0) errors.Add(JudgeField, $"The judge prompt must contain {string.Join(", ", missing)}.");
        }
        if (errors.Any) return OperationResult<Evaluation>.Failure(errors);

        var now = clock.GetUtcNow().UtcDateTime;
        var evaluation = new Evaluation
        {
            Id = Guid.NewGuid(),
            Name = string.IsNullOrWhiteSpace(request.Name) ? DefaultName(models, version!.VersionNumber, request.Part) : request.Name.Trim(),
            BaseModelId = baseIds.Single(),
            DatasetVersionId = version!.Id,
            Part = request.Part,
            MaxExamples = request.MaxExamples,
            MaxNewTokens = request.MaxNewTokens,
            Temperature = request.Temperature,
            TopP = request.TopP,
            Seed = request.Seed,
            Models = models,
            RunId = request.RunId,
            JudgeDeploymentId = request.JudgeDeploymentId,
            JudgePrompt = request.JudgeDeploymentId is null ? null : request.JudgePrompt ?? LlmJudge.DefaultPrompt,
            CreatedAtUtc = now,
            CreatedBy = (currentUser ?? SystemUser.Instance).Name,
        };
        if (evaluation.Name.Length > 200) evaluation.Name = evaluation.Name[..200];
        evaluation.Enqueue(now);
        db.Evaluations.Add(evaluation);
        await db.SaveChangesAsync(cancellationToken);
        try
        {
            await queue.EnqueueAsync(WorkKind.Evaluate, evaluation.Id, cancellationToken);
        }
        catch (Exception ex)
        {
            await FinishAsync(evaluation.Id, WorkStatus.Failed, $"The evaluation could not be queued: {ex.Message}", CancellationToken.None);
            return OperationResult<Evaluation>.Failure(OperationResult<Evaluation>.General, $"The evaluation could not be queued: {ex.Message}");
        }
        return OperationResult<Evaluation>.Success(evaluation);
    }

    /// <summary>
    /// An evaluation named for every model in it, so no train's page or Compare column is headed with another train's
    /// model: "tuned-a, tuned-b vs base on v2 validation" (the judge's baseline last), or "base on v2 all" for one model.
    /// </summary>
    public static string DefaultName(IReadOnlyList<EvaluatedModel> models, int versionNumber, DatasetPart part)
    {
        var named = models.Count > 1 ? $"{string.Join(", ", models.Skip(1).Select(m => m.Name))} vs {models[0].Name}" : models[0].Name;
        return $"{named} on v{versionNumber} {part.ToString().ToLowerInvariant()}";
    }

    public Task ReportProgressAsync(Guid evaluationId, double progress, CancellationToken cancellationToken = default) =>
        UpdateAsync(evaluationId, e =>
        {
            if (e.IsFinished) return false;
            e.Progress = Math.Clamp(progress, 0, 1);
            return true;
        }, cancellationToken);

    /// <summary>Stores the aggregates the worker computed (before the job ends it Succeeded).</summary>
    public Task RecordAggregatesAsync(Guid evaluationId, int exampleCount, IReadOnlyList<ModelAggregate> aggregates, CancellationToken cancellationToken = default) =>
        UpdateAsync(evaluationId, e =>
        {
            e.ExampleCount = exampleCount;
            e.Aggregates = aggregates;
            return true;
        }, cancellationToken);

    public Task FinishAsync(Guid evaluationId, WorkStatus outcome, string? reason, CancellationToken cancellationToken = default) =>
        UpdateAsync(evaluationId, e => e.Finish(outcome, reason, clock.GetUtcNow().UtcDateTime), cancellationToken);

    private async Task UpdateAsync(Guid evaluationId, Func<Evaluation, bool> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var evaluation = await db.Evaluations.FirstOrDefaultAsync(e => e.Id == evaluationId, cancellationToken);
        if (evaluation is null || !change(evaluation)) return;
        await db.SaveChangesAsync(cancellationToken);
    }
}
