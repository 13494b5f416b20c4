using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.Storage;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.BaseModels;

/// <summary>Registers, edits and removes base models. Every rule is checked before anything is written.</summary>
public sealed class BaseModelService(IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, TimeProvider clock, ICurrentUser? currentUser = null)
{
    public const string TechnicalNameField = nameof(BaseModelInput.TechnicalName);
    public const string ModelNameField = nameof(BaseModelInput.ModelName);
    public const string PathField = nameof(BaseModelInput.Path);
    public const string TemplateField = nameof(BaseModelInput.DeploymentTemplate);

    private readonly ModelPathResolver _paths = new(directories.ModelsRoot);

    public string ModelsRoot => _paths.ModelsRoot;

    public async Task<IReadOnlyList<BaseModel>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.BaseModels.AsNoTracking().OrderBy(m => m.TechnicalNameKey).ToListAsync(cancellationToken);
    }

    public async Task<BaseModel?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.BaseModels.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
    }

    /// <summary>
    /// The absolute folder of a registered model, with the path rule checked again now (<see cref="ModelPathResolver.ResolveRegistered"/>);
    /// throws <see cref="ModelFolderException"/> with the reason when the folder may no longer be used.
    /// </summary>
    public string FolderOf(BaseModel model)
    {
        var (folder, error) = ResolveFolder(model);
        return folder ?? throw new ModelFolderException(error!);
    }

    /// <summary>The absolute folder of a registered model, or why it may no longer be used (for callers that report rather than throw).</summary>
    public (string? Folder, string? Error) ResolveFolder(BaseModel model) => _paths.ResolveRegistered(model.TechnicalName, model.RelativePath);

    /// <summary>Validation messages for a technical name and model name, as registering would give them (a download checks before it starts).</summary>
    public async Task<ValidationErrors> CheckNamesAsync(string technicalName, string modelName, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var (errors, _, _, _) = await ValidateAsync(db, new BaseModelInput(technicalName, modelName, ".", null), existingId: null, cancellationToken);
        var names = new ValidationErrors();
        foreach (var (field, messages) in errors.ToDictionary().Where(e => e.Key is TechnicalNameField or ModelNameField))
            foreach (var message in messages) names.Add(field, message);
        return names;
    }

    /// <summary>Reads the card of a folder without registering it, for the form's preview.</summary>
    public OperationResult<ModelCard> Inspect(string? path)
    {
        var errors = new ValidationErrors();
        var card = InspectFolder(path, errors, out _);
        return card is null ? OperationResult<ModelCard>.Failure(errors) : OperationResult<ModelCard>.Success(card);
    }

    private readonly ICurrentUser _user = currentUser ?? SystemUser.Instance;

    public Task<OperationResult<BaseModel>> CreateAsync(BaseModelInput input, CancellationToken cancellationToken = default) =>
        CreateAsync(input, source: null, createdBy: _user.Name, cancellationToken);

    /// <summary>Registers a folder a Hub download wrote, with its repository and commit, on behalf of who queued the download.</summary>
    public Task<OperationResult<BaseModel>> RegisterDownloadedAsync(BaseModelInput input, BaseModelSource source, string? createdBy, CancellationToken cancellationToken = default) =>
        CreateAsync(input, source, createdBy, cancellationToken);

    private async Task<OperationResult<BaseModel>> CreateAsync(BaseModelInput input, BaseModelSource? source, string? createdBy, CancellationToken cancellationToken)
    {
        if (source is null && _user.DenyChange() is { } denied) return OperationResult<BaseModel>.Failure(OperationResult<BaseModel>.General, denied);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var (errors, card, normalizedPath, template) = await ValidateAsync(db, input, existingId: null, cancellationToken);
        if (errors.Any) return OperationResult<BaseModel>.Failure(errors);

        var now = clock.GetUtcNow().UtcDateTime;
        var model = new BaseModel
        {
            Id = Guid.CreateVersion7(),
            TechnicalName = input.TechnicalName.Trim(),
            TechnicalNameKey = BaseModel.KeyOf(input.TechnicalName),
            ModelName = input.ModelName.Trim(),
            ModelNameKey = BaseModel.KeyOf(input.ModelName),
            RelativePath = normalizedPath!,
            Card = card!,
            DeploymentTemplate = template,
            CreatedAtUtc = now,
            CreatedBy = createdBy,
            UpdatedAtUtc = now,
            SourceRepository = source?.Repository,
            SourceCommit = source?.Commit,
        };
        db.BaseModels.Add(model);
        AuditTrail.Add(db, _user, clock, AuditActions.Registered, AuditObjects.BaseModel, model.Id, model.TechnicalName, model.RelativePath);
        return await SaveAsync(db, model, cancellationToken);
    }

    public async Task<OperationResult<BaseModel>> UpdateAsync(Guid id, BaseModelInput input, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var model = await db.BaseModels.FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (model is null) return OperationResult<BaseModel>.Failure(OperationResult<BaseModel>.General, "This base model no longer exists.");
        if (_user.DenyAlter(model.CreatedBy, "edit it") is { } denied) return OperationResult<BaseModel>.Failure(OperationResult<BaseModel>.General, denied);

        var (errors, card, normalizedPath, template) = await ValidateAsync(db, input, id, cancellationToken);
        if (!errors.Any && normalizedPath != model.RelativePath && await PathChangeRefusalAsync(db, model, normalizedPath!, cancellationToken) is { } refused)
            errors.Add(PathField, refused);
        if (errors.Any) return OperationResult<BaseModel>.Failure(errors);

        model.TechnicalName = input.TechnicalName.Trim();
        model.TechnicalNameKey = BaseModel.KeyOf(input.TechnicalName);
        model.ModelName = input.ModelName.Trim();
        model.ModelNameKey = BaseModel.KeyOf(input.ModelName);
        model.RelativePath = normalizedPath!;
        model.Card = card!;
        model.DeploymentTemplate = template;
        model.UpdatedAtUtc = clock.GetUtcNow().UtcDateTime;
        AuditTrail.Add(db, _user, clock, AuditActions.Changed, AuditObjects.BaseModel, model.Id, model.TechnicalName, model.RelativePath);
        return await SaveAsync(db, model, cancellationToken);
    }

    /// <summary>
    /// Removes the registration only; the model files on disk are the user's and stay. Refused while trains or
    /// customized models refer to it: they would lose what they were trained from.
    /// </summary>
    public async Task<OperationResult<bool>> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var createdBy = await db.BaseModels.Where(m => m.Id == id).Select(m => m.CreatedBy).FirstOrDefaultAsync(cancellationToken);
        if (_user.DenyAlter(createdBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        var runs = await db.TrainingRuns.Where(r => r.BaseModelId == id).Select(r => r.Name).ToListAsync(cancellationToken);
        var adapters = await db.CustomizedModels.CountAsync(m => m.BaseModelId == id, cancellationToken);
        if (runs.Count > 0 || adapters > 0)
        {
            var trains = runs.Count == 0 ? "" : $"{runs.Count} train(s) ({string.Join(", ", runs.Distinct().Take(3))}{(runs.Count > 3 ? ", …" : "")})";
            var customized = adapters == 0 ? "" : $"{adapters} customized model(s)";
            return OperationResult<bool>.Failure(OperationResult<bool>.General,
                $"This base model is used by {string.Join(" and ", new[] { trains, customized }.Where(t => t.Length > 0))}; it cannot be removed while they exist.");
        }
        var name = await db.BaseModels.Where(m => m.Id == id).Select(m => m.TechnicalName).FirstOrDefaultAsync(cancellationToken);
        var deleted = await db.BaseModels.Where(m => m.Id == id).ExecuteDeleteAsync(cancellationToken) > 0;
        if (deleted)
        {
            AuditTrail.Add(db, _user, clock, AuditActions.Deleted, AuditObjects.BaseModel, id, name);
            await db.SaveChangesAsync(cancellationToken);
        }
        return OperationResult<bool>.Success(deleted);
    }

    /// <summary>
    /// Why the path may not move to <paramref name="newPath"/>: trains, customized and complete models, deployments and
    /// evaluations made from the model would silently refer to other weights (a later save would merge into them). Allowed
    /// when nothing depends on it, or when the new folder's weight files are byte-identical (same names, sizes, SHA-256).
    /// </summary>
    private async Task<string?> PathChangeRefusalAsync(DeepExtensionDbContext db, BaseModel model, string newPath, CancellationToken cancellationToken)
    {
        var id = model.Id;
        var counts = new (int Count, string What)[]
        {
            (await db.TrainingRuns.CountAsync(r => r.BaseModelId == id, cancellationToken), "train(s)"),
            (await db.CustomizedModels.CountAsync(m => m.BaseModelId == id, cancellationToken), "customized model(s)"),
            (await db.CompleteModels.CountAsync(m => m.BaseModelId == id, cancellationToken), "complete model(s)"),
            (await db.ModelDeployments.CountAsync(d => d.BaseModelId == id, cancellationToken), "deployment(s)"),
            (await db.Evaluations.CountAsync(e => e.BaseModelId == id, cancellationToken), "evaluation(s)"),
        }.Where(c => c.Count > 0).Select(c => $"{c.Count} {c.What}").ToList();
        if (counts.Count == 0) return null;

        var dependents = counts.Count == 1 ? counts[0] : $"{string.Join(", ", counts[..^1])} and {counts[^1]}";
        var prefix = $"The path of {model.TechnicalName} cannot be changed while {dependents} depend on it";
        var (oldFolder, oldError) = _paths.ResolveRegistered(model.TechnicalName, model.RelativePath);
        if (oldFolder is null) return $"{prefix}: the weights of {newPath} cannot be compared with the registered folder ({oldError}).";
        var (newFolder, _) = _paths.Resolve(newPath);
        try
        {
            if (WeightsDiffer(oldFolder, newFolder!) is { } difference)
                return $"{prefix}, unless the weights in {newPath} are identical to those in {model.RelativePath} ({difference}). Register the other folder as a new base model instead.";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ModelFolderException)
        {
            return $"{prefix}: the weights could not be compared ({ex.Message}).";
        }
        return null;
    }

    /// <summary>How two folders' weight files differ (names, sizes, SHA-256), or null when byte-identical.</summary>
    private static string? WeightsDiffer(string oldFolder, string newFolder)
    {
        var oldFiles = ModelCardReader.FindWeightFiles(oldFolder).Select(f => Path.GetRelativePath(oldFolder, f)).Order(StringComparer.Ordinal).ToList();
        var newFiles = ModelCardReader.FindWeightFiles(newFolder).Select(f => Path.GetRelativePath(newFolder, f)).Order(StringComparer.Ordinal).ToList();
        if (!oldFiles.SequenceEqual(newFiles, StringComparer.Ordinal))
            return $"weight files {string.Join(", ", newFiles)} instead of {string.Join(", ", oldFiles)}";
        foreach (var file in oldFiles)
        {
            var (a, b) = (new FileInfo(Path.Combine(oldFolder, file)), new FileInfo(Path.Combine(newFolder, file)));
            if (a.Length != b.Length) return $"{file} has {b.Length:N0} bytes instead of {a.Length:N0}";
            if (!Sha256Of(a.FullName).AsSpan().SequenceEqual(Sha256Of(b.FullName))) return $"{file} has other contents (SHA-256)";
        }
        return null;
    }

    private static byte[] Sha256Of(string file)
    {
        using var stream = File.OpenRead(file);
        return System.Security.Cryptography.SHA256.HashData(stream);
    }

    private async Task<(ValidationErrors Errors, ModelCard? Card, string? Path, string? Template)> ValidateAsync(
        DeepExtensionDbContext db, BaseModelInput input, Guid? existingId, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();

        if (TechnicalName.Validate(input.TechnicalName) is { } technicalError)
        {
            errors.Add(TechnicalNameField, technicalError);
        }
        else
        {
            var key = BaseModel.KeyOf(input.TechnicalName);
            if (await db.BaseModels.AnyAsync(m => m.TechnicalNameKey == key && m.Id != existingId, cancellationToken))
            {
                errors.Add(TechnicalNameField, $"The technical name \"{input.TechnicalName.Trim()}\" is already used by another base model.");
            }
        }

        var modelName = input.ModelName?.Trim() ?? "";
        if (modelName.Length == 0)
        {
            errors.Add(ModelNameField, "The model name is required.");
        }
        else if (modelName.Length > 200)
        {
            errors.Add(ModelNameField, "The model name must be at most 200 characters.");
        }
        else
        {
            var key = BaseModel.KeyOf(modelName);
            if (await db.BaseModels.AnyAsync(m => m.ModelNameKey == key && m.Id != existingId, cancellationToken))
            {
                errors.Add(ModelNameField, $"The model name \"{modelName}\" is already used by another base model.");
            }
        }

        var card = InspectFolder(input.Path, errors, out var normalizedPath);

        var (template, templateError) = DeploymentTemplate.Parse(input.DeploymentTemplate);
        if (templateError is not null) errors.Add(TemplateField, templateError);

        return (errors, card, normalizedPath, template);
    }

    private ModelCard? InspectFolder(string? path, ValidationErrors errors, out string? normalizedPath)
    {
        var (normalized, pathError) = ModelPathResolver.Normalize(path);
        normalizedPath = normalized;
        if (pathError is not null)
        {
            errors.Add(PathField, pathError);
            return null;
        }

        var (folder, resolveError) = _paths.Resolve(normalized!);
        if (resolveError is not null)
        {
            errors.Add(PathField, resolveError);
            return null;
        }

        try
        {
            var weightFiles = ModelCardReader.FindWeightFiles(folder!);
            var escaping = weightFiles.Append(Path.Combine(folder!, ModelCardReader.ConfigFile))
                .Where(f => File.Exists(f) && !_paths.FileStaysInsideRoot(f))
                .Select(Path.GetFileName)
                .ToList();
            if (escaping.Count > 0)
            {
                errors.Add(PathField, $"{string.Join(", ", escaping)} link(s) to a file outside the models root.");
                return null;
            }
            return ModelCardReader.Read(folder!);
        }
        catch (ModelFolderException ex)
        {
            errors.Add(PathField, ex.Message);
            return null;
        }
        catch (IOException ex)
        {
            errors.Add(PathField, $"The model folder could not be read: {ex.Message}");
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            errors.Add(PathField, "The console has no permission to read the model folder.");
            return null;
        }
    }

    private static async Task<OperationResult<BaseModel>> SaveAsync(DeepExtensionDbContext db, BaseModel model, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return OperationResult<BaseModel>.Success(model);
        }
        catch (DbUpdateException ex) when (!DatabaseErrors.IsDuplicate(ex))
        {
            return OperationResult<BaseModel>.Failure(OperationResult<BaseModel>.General, DatabaseErrors.Refused(ex));
        }
        catch (DbUpdateException)
        {
            // Another request took the name between validation and save: the unique indexes caught it.
            return OperationResult<BaseModel>.Failure(OperationResult<BaseModel>.General,
                "Another base model with the same technical name or model name was saved at the same time. Nothing was saved; try again.");
        }
    }
}
