using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.Common;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Data;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.CompleteModels;

/// <summary>What the Save dialog shows before the user confirms: every parameter is generated.</summary>
public sealed record SavePlan(Guid SaveId, Guid CustomizedModelId, string CustomizedModelName, string OutputName, string OutputFolder, string Quantization);

/// <summary>Saves (merges) customized models into complete models, lists and deletes complete models.</summary>
public sealed class CompleteModelService(
    IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, IWorkQueue queue, TimeProvider clock,
    ICurrentUser? currentUser = null)
{
    private readonly WorkStore _work = new(dbFactory, clock);

    public const string NoQuantization = "none";

    public async Task<IReadOnlyList<CompleteModel>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.CompleteModels.AsNoTracking().OrderByDescending(m => m.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    public async Task<CompleteModel?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.CompleteModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
    }

    public async Task<IReadOnlyList<ModelSave>> ListSavesAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ModelSaves.AsNoTracking().OrderByDescending(s => s.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    public async Task<ModelSave?> GetSaveAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ModelSaves.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
    }

    /// <summary>The absolute folder of a complete model.</summary>
    public string FolderOf(CompleteModel model) => Path.Combine(directories.Root, model.Path);

    /// <summary>The generated parameters of a new save (a fresh v4 id decides the name), for the confirm dialog.</summary>
    public async Task<OperationResult<SavePlan>> PlanSaveAsync(Guid customizedModelId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var model = await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == customizedModelId, cancellationToken);
        if (model is null) return OperationResult<SavePlan>.Failure(OperationResult<SavePlan>.General, "This customized model no longer exists.");
        var saveId = Guid.NewGuid();
        var name = CompleteModel.NameFor(model.Name, saveId);
        return OperationResult<SavePlan>.Success(new SavePlan(saveId, model.Id, model.Name, name, DataDirectories.RelativeCompleteModelFolder(name), NoQuantization));
    }

    /// <summary>Records the save as Queued and queues its merge job.</summary>
    public async Task<OperationResult<ModelSave>> SaveAsync(SavePlan plan, CancellationToken cancellationToken = default)
    {
        if ((currentUser ?? SystemUser.Instance).DenyChange() is { } denied) return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var model = await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == plan.CustomizedModelId, cancellationToken);
        if (model is null) return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, "This customized model no longer exists.");
        if (plan.OutputName != CompleteModel.NameFor(model.Name, plan.SaveId))
            return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, "The save parameters do not belong to this customized model.");
        if (await db.ModelSaves.AnyAsync(s => s.Id == plan.SaveId, cancellationToken))
            return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, "This save was already submitted.");
        if (await db.CompleteModels.AnyAsync(m => m.Name == plan.OutputName, cancellationToken)
            || await db.ModelSaves.AnyAsync(s => s.OutputName == plan.OutputName && s.Status != WorkStatus.Failed, cancellationToken))
            return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, $"A complete model named {plan.OutputName} already exists; open the dialog again for a new name.");
        if (await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == model.BaseModelId, cancellationToken) is { } baseModel
            && new ModelPathResolver(directories.ModelsRoot).ResolveRegistered(baseModel.TechnicalName, baseModel.RelativePath).Error is { } folderError)
            return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, folderError);

        var now = clock.GetUtcNow().UtcDateTime;
        var save = new ModelSave
        {
            Id = plan.SaveId,
            CustomizedModelId = model.Id,
            OutputName = plan.OutputName,
            CreatedAtUtc = now,
            CreatedBy = (currentUser ?? SystemUser.Instance).Name,
        };
        save.Enqueue(now);
        db.ModelSaves.Add(save);
        AuditTrail.Add(db, currentUser ?? SystemUser.Instance, clock, AuditActions.Saved, AuditObjects.CustomizedModel, model.Id, model.Name, $"as {save.OutputName}");
        await db.SaveChangesAsync(cancellationToken);
        try
        {
            await queue.EnqueueAsync(WorkKind.Save, save.Id, cancellationToken);
        }
        catch (Exception ex)
        {
            await FinishFailedAsync(save.Id, $"The save could not be queued: {ex.Message}", CancellationToken.None);
            return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, $"The save could not be queued: {ex.Message}");
        }
        return OperationResult<ModelSave>.Success(save);
    }

    /// <summary>Plans and submits in one call (what OK in the dialog does with the plan it showed).</summary>
    public async Task<OperationResult<ModelSave>> SaveAsync(Guid customizedModelId, CancellationToken cancellationToken = default)
    {
        if ((currentUser ?? SystemUser.Instance).DenyChange() is { } denied) return OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, denied);
        var plan = await PlanSaveAsync(customizedModelId, cancellationToken);
        return plan.Succeeded ? await SaveAsync(plan.Value!, cancellationToken) : OperationResult<ModelSave>.Failure(OperationResult<ModelSave>.General, plan.AllErrors);
    }

    public Task<bool> MarkRunningAsync(Guid saveId, CancellationToken cancellationToken = default) =>
        _work.StartAsync<ModelSave>(saveId, cancellationToken);

    /// <summary>Merging is the save's work between "started" (0.05) and registering (1).</summary>
    public static double MergeShare(double mergedFraction) => 0.05 + 0.9 * Math.Clamp(mergedFraction, 0, 1);

    public async Task ReportProgressAsync(Guid saveId, double progress, CancellationToken cancellationToken = default)
    {
        // Tracked, not a bulk update: SaveChanges is what tells the pages (WorkChanges) that the save moved on.
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var save = await db.ModelSaves.SingleOrDefaultAsync(s => s.Id == saveId && s.Status == WorkStatus.Running, cancellationToken);
        if (save is null) return;
        save.Progress = Math.Clamp(progress, 0, 1);
        await db.SaveChangesAsync(cancellationToken);
    }

    public Task FinishFailedAsync(Guid saveId, string reason, CancellationToken cancellationToken = default) =>
        _work.FinishAsync<ModelSave>(saveId, WorkStatus.Failed, reason, cancellationToken);

    /// <summary>The card key of the merged folder's own <see cref="ModelCard"/>.</summary>
    public const string FolderCardKey = "folder_card";

    private static JsonNode? FolderCardOf(string folder)
    {
        try
        {
            return JsonSerializer.SerializeToNode(ModelCardReader.Read(folder));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or JsonException or UnauthorizedAccessException)
        {
            return null; // the card then shows the base's facts, as before
        }
    }

    /// <summary>
    /// Registers the merged folder complete-models/&lt;name&gt;/ (written by the worker) as a complete model with a card
    /// combining the base model card and the training card, and marks the save Succeeded.
    /// </summary>
    public async Task<CompleteModel> RegisterAsync(Guid saveId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var save = await db.ModelSaves.FirstAsync(s => s.Id == saveId, cancellationToken);
        if (save.CompleteModelId is { } existingId && await db.CompleteModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == existingId, cancellationToken) is { } existing)
            return existing;
        var customized = await db.CustomizedModels.AsNoTracking().FirstAsync(m => m.Id == save.CustomizedModelId, cancellationToken);
        var baseModel = await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == customized.BaseModelId, cancellationToken);
        var relative = DataDirectories.RelativeCompleteModelFolder(save.OutputName);
        var folder = Path.Combine(directories.Root, relative);
        if (!Directory.Exists(folder)) throw new InvalidOperationException($"The merged folder {relative} does not exist.");

        var card = new JsonObject
        {
            ["name"] = save.OutputName,
            ["customized_model"] = customized.Name,
            ["saved_utc"] = clock.GetUtcNow().UtcDateTime.ToString("O"),
            ["quantization"] = NoQuantization,
            ["base_model"] = baseModel is null ? null : new JsonObject
            {
                ["technical_name"] = baseModel.TechnicalName,
                ["model_name"] = baseModel.ModelName,
                ["card"] = JsonSerializer.SerializeToNode(baseModel.Card),
            },
            [TrainingCard.CompleteModelTrainingKey] = JsonNode.Parse(string.IsNullOrWhiteSpace(customized.CardJson) ? "{}" : customized.CardJson),
            // What the merged folder itself holds (its weight files and size, not the base's: a sharded base merges into fewer files).
            [FolderCardKey] = FolderCardOf(folder),
        };
        var model = new CompleteModel
        {
            Id = Guid.NewGuid(),
            Name = save.OutputName,
            CustomizedModelId = customized.Id,
            CustomizedModelName = customized.Name,
            BaseModelId = customized.BaseModelId,
            SaveId = save.Id,
            Path = relative,
            CardJson = card.ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
            SizeBytes = SizeOf(folder),
            CreatedAtUtc = clock.GetUtcNow().UtcDateTime,
            // The complete model belongs to whoever saved it.
            CreatedBy = save.CreatedBy,
        };
        db.CompleteModels.Add(model);
        save.CompleteModelId = model.Id;
        save.Finish(WorkStatus.Succeeded, null, clock.GetUtcNow().UtcDateTime);
        await db.SaveChangesAsync(cancellationToken);
        return model;
    }

    /// <summary>Removes the model folder and the entry (deployments made from it are not touched).</summary>
    public async Task<OperationResult<bool>> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var model = await db.CompleteModels.FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (model is null) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This complete model no longer exists.");
        if ((currentUser ?? SystemUser.Instance).DenyAlter(model.CreatedBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (await WorkUsingAsync(db, model, cancellationToken) is { } busy)
            return OperationResult<bool>.Failure(OperationResult<bool>.General, $"{model.Name} cannot be deleted while {busy} uses it; cancel it or wait until it has finished.");
        var folder = Path.GetFullPath(Path.Combine(directories.Root, model.Path));
        if (!folder.StartsWith(Path.GetFullPath(directories.CompleteModels) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "The model folder is outside complete-models/; it was not removed.");
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General, $"The model folder could not be removed: {ex.Message}");
        }
        db.CompleteModels.Remove(model);
        AuditTrail.Add(db, currentUser ?? SystemUser.Instance, clock, AuditActions.Deleted, AuditObjects.CompleteModel, model.Id, model.Name);
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<bool>.Success(true);
    }

    /// <summary>
    /// Unfinished work that reads the model's folder (a deployment uploading it, a save writing it, an evaluation
    /// answering with it), described for the refusal; null when none. Deleting under it would fail it half-way and
    /// leave its leftovers (blobs in Ollama).
    /// </summary>
    private static async Task<string?> WorkUsingAsync(DeepExtensionDbContext db, CompleteModel model, CancellationToken cancellationToken)
    {
        var uses = new List<string>();
        var deployments = await db.ModelDeployments.AsNoTracking()
            .Where(d => d.SourceKind == DeploymentSourceKind.Complete && d.SourceModelId == model.Id
                && (d.Status == WorkStatus.Queued || d.Status == WorkStatus.Running))
            .Select(d => new { d.OllamaModel, d.EnvironmentName, d.Status }).ToListAsync(cancellationToken);
        uses.AddRange(deployments.Select(d => $"the {d.Status.ToString().ToLowerInvariant()} deployment {d.OllamaModel} to {d.EnvironmentName}"));
        var saves = await db.ModelSaves.AsNoTracking()
            .Where(s => (s.CompleteModelId == model.Id || s.OutputName == model.Name) && (s.Status == WorkStatus.Queued || s.Status == WorkStatus.Running))
            .Select(s => s.Status).ToListAsync(cancellationToken);
        uses.AddRange(saves.Select(s => $"the {s.ToString().ToLowerInvariant()} save that writes it"));
        var evaluations = await db.Evaluations.AsNoTracking()
            .Where(e => e.Status == WorkStatus.Queued || e.Status == WorkStatus.Running).ToListAsync(cancellationToken);
        uses.AddRange(evaluations.Where(e => e.Models.Any(m => m.Kind == EvaluatedModelKind.Complete && m.Id == model.Id))
            .Select(e => $"the {e.Status.ToString().ToLowerInvariant()} evaluation {e.Name}"));
        return uses.Count == 0 ? null : string.Join(" and ", uses);
    }

    internal static long SizeOf(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
