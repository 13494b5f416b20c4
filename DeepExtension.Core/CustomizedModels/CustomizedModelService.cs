using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.Common;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.Data;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.CustomizedModels;

/// <summary>Registers the adapters that successful runs produce.</summary>
public sealed class CustomizedModelService(IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, TimeProvider clock, ICurrentUser? currentUser = null)
{
    public async Task<IReadOnlyList<CustomizedModel>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.CustomizedModels.AsNoTracking().OrderByDescending(m => m.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    public async Task<CustomizedModel?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
    }

    /// <summary>The absolute adapter folder.</summary>
    public string FolderOf(CustomizedModel model) => Path.Combine(directories.Root, model.AdapterPath);

    /// <summary>
    /// Removes the adapter folder (adapters/&lt;name&gt;/) and the entry. Complete models saved from it stay (their
    /// link becomes empty); refused while one of its saves is queued or running, since that merge reads the adapter.
    /// </summary>
    public async Task<OperationResult<bool>> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var model = await db.CustomizedModels.FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (model is null) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This customized model no longer exists.");
        if ((currentUser ?? SystemUser.Instance).DenyAlter(model.CreatedBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        var active = await db.ModelSaves.Where(s => s.CustomizedModelId == id && (s.Status == WorkStatus.Queued || s.Status == WorkStatus.Running))
            .Select(s => s.OutputName).ToListAsync(cancellationToken);
        if (active.Count > 0)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General,
                $"{model.Name} is being saved as {string.Join(", ", active)}; delete it when the save has finished.");
        }
        var folder = Path.GetFullPath(Path.Combine(directories.Root, model.AdapterPath));
        if (!folder.StartsWith(Path.GetFullPath(directories.Adapters) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            return OperationResult<bool>.Failure(OperationResult<bool>.General, "The adapter folder is outside adapters/; it was not removed.");
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General, $"The adapter folder could not be removed: {ex.Message}");
        }
        // Complete models keep existing without the link; finished saves are its history and go with it.
        await db.CompleteModels.Where(c => c.CustomizedModelId == id).ExecuteUpdateAsync(u => u.SetProperty(c => c.CustomizedModelId, (Guid?)null), cancellationToken);
        await db.ModelSaves.Where(s => s.CustomizedModelId == id).ExecuteDeleteAsync(cancellationToken);
        db.CustomizedModels.Remove(model);
        AuditTrail.Add(db, currentUser ?? SystemUser.Instance, clock, AuditActions.Deleted, AuditObjects.CustomizedModel, model.Id, model.Name);
        await db.SaveChangesAsync(cancellationToken);
        return OperationResult<bool>.Success(true);
    }

    public async Task<CustomizedModel?> FindByRunAsync(Guid runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.TrainingRunId == runId, cancellationToken);
    }

    /// <summary>
    /// Moves the run's final adapter to adapters/&lt;name&gt;/ and records it with a model card built from the
    /// run's configuration and results. Safe to call again for the same run.
    /// </summary>
    /// <param name="finishedUtc">When training finished: the date in the name, and the run's finish time.</param>
    public async Task<CustomizedModel> RegisterAsync(Guid runId, string adapterDirectory, DateTime finishedUtc, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await db.CustomizedModels.AsNoTracking().FirstOrDefaultAsync(m => m.TrainingRunId == runId, cancellationToken) is { } existing)
        {
            return existing;
        }
        var run = await db.TrainingRuns.AsNoTracking().FirstAsync(r => r.Id == runId, cancellationToken);
        var version = await db.DatasetVersions.AsNoTracking().FirstAsync(v => v.Id == run.DatasetVersionId, cancellationToken);
        var dataset = await db.Datasets.AsNoTracking().FirstAsync(d => d.Id == version.DatasetId, cancellationToken);
        var baseModel = await db.BaseModels.AsNoTracking().FirstAsync(m => m.Id == run.BaseModelId, cancellationToken);

        var finished = finishedUtc;
        var name = CustomizedModel.NameFor(run.BaseModelTechnicalName, run.Name, finished, run.Id);
        var relative = DataDirectories.RelativeAdapterFolder(name);
        var target = Path.Combine(directories.Root, relative);
        if (!Directory.Exists(target))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            CopyDirectory(adapterDirectory, DataDirectories.PartialOf(target));
            Directory.Move(DataDirectories.PartialOf(target), target);
        }

        var card = new JsonObject
        {
            ["base_model"] = new JsonObject { ["technical_name"] = baseModel.TechnicalName, ["model_name"] = baseModel.ModelName, ["architecture"] = baseModel.Card.Architecture },
            [TrainingCard.TrainKey] = new JsonObject
            {
                ["run_id"] = run.Id.ToString(),
                ["name"] = run.Name,
                ["method"] = run.MethodName,
                [TrainingCard.AlgorithmKey] = run.Algorithm.ToString(),
                // SQLite hands times back without a kind: written through DisplayFormat.Iso so they carry their "Z".
                ["started_utc"] = run.StartedAtUtc is { } started ? DisplayFormat.Iso(started) : null,
                ["finished_utc"] = DisplayFormat.Iso(finished),
                ["steps"] = run.Step,
                ["epochs"] = run.Epoch,
            },
            ["dataset"] = new JsonObject
            {
                ["name"] = dataset.Name,
                ["version"] = version.VersionNumber,
                ["sha256"] = version.ContentSha256,
                ["rows"] = version.RowCount,
                ["format"] = version.Format.ToString(),
            },
            [TrainingCard.ParametersKey] = run.TrainingParameters.ToJson(run.Algorithm),
            ["evaluation"] = new JsonObject
            {
                ["final_loss"] = run.LastLoss,
                ["best_loss"] = run.BestLoss,
                ["best_eval_loss"] = run.BestEvalLoss,
            },
        };
        var model = new CustomizedModel
        {
            Id = Guid.NewGuid(),
            Name = name,
            BaseModelId = run.BaseModelId,
            TrainingRunId = run.Id,
            TrainName = run.Name,
            AdapterPath = relative,
            CardJson = card.ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
            CreatedAtUtc = clock.GetUtcNow().UtcDateTime,
            // The adapter belongs to whoever started its train.
            CreatedBy = run.CreatedBy,
        };
        db.CustomizedModels.Add(model);
        await db.SaveChangesAsync(cancellationToken);
        return model;
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(destination, Path.GetFileName(file)), overwrite: true);
        foreach (var dir in Directory.GetDirectories(source)) CopyDirectory(dir, Path.Combine(destination, Path.GetFileName(dir)));
    }
}
