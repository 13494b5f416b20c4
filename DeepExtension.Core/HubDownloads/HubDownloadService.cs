using System.Text.Json;
using System.Text.RegularExpressions;
using DeepExtension.Core.Accounts;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.HuggingFace;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Work;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.HubDownloads;

/// <summary>
/// Plans, queues, follows and cancels base model downloads from the Hugging Face Hub. The plan lists what will be
/// fetched (safetensors weights only, never pickles, plus config, generation config, tokenizer and chat template)
/// and checks the architecture; queueing pins the commit and keeps the token encrypted until the download ends. The
/// work itself is the download job's (DeepExtension.Jobs).
/// </summary>
public sealed partial class HubDownloadService(
    IDbContextFactory<DeepExtensionDbContext> dbFactory,
    HubClient hub,
    BaseModelService baseModels,
    DataDirectories directories,
    IWorkQueue queue,
    WorkStore work,
    IDataProtectionProvider dataProtection,
    ICurrentUser? currentUser = null)
{
    public const string RepositoryField = nameof(HubDownloadRequest.Repository);
    public const string RevisionField = nameof(HubDownloadRequest.Revision);
    public const string TargetPathField = nameof(HubDownloadRequest.TargetPath);
    public const string DefaultRevision = "main";
    public const int RepositoryMaxLength = 200;

    /// <summary>The Data Protection purpose of stored access tokens.</summary>
    public const string TokenPurpose = "DeepExtension.HuggingFace.AccessToken.v1";

    /// <summary>Files a model needs besides its weights; anything else in the repository is left on the Hub.</summary>
    public static IReadOnlyList<string> CompanionFiles { get; } =
    [
        ModelCardReader.ConfigFile, "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
        "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
    ];

    /// <summary>Python pickles: loading one can run code, so they are never fetched.</summary>
    public static IReadOnlyList<string> PickleExtensions { get; } = [".bin", ".pt", ".pth", ".ckpt", ".pkl"];

    private readonly ICurrentUser _user = currentUser ?? SystemUser.Instance;
    private readonly IDataProtector _tokens = dataProtection.CreateProtector(TokenPurpose);

    public async Task<IReadOnlyList<HubDownload>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.HubDownloads.AsNoTracking().OrderByDescending(d => d.CreatedAtUtc).ToListAsync(cancellationToken);
    }

    public Task<HubDownload?> GetAsync(Guid id, CancellationToken cancellationToken = default) => work.GetAsync<HubDownload>(id, cancellationToken);

    public string FolderOf(Guid id) => directories.DownloadFolder(id);

    public WorkLog LogOf(Guid id) => WorkLog.In(FolderOf(id), WorkKind.Download);

    /// <summary>The absolute folder a download ends in; its files are written to <see cref="DataDirectories.PartialOf"/> of it first.</summary>
    public string TargetFolderOf(HubDownload download) => Path.Combine(directories.ModelsRoot, download.TargetPath);

    /// <summary>Reads the repository at the revision and says what a download would fetch; nothing is written.</summary>
    public async Task<OperationResult<HubDownloadPlan>> PlanAsync(HubDownloadRequest request, CancellationToken cancellationToken = default)
    {
        var repository = (request.Repository ?? "").Trim();
        if (ValidateRepository(repository) is { } repositoryError) return OperationResult<HubDownloadPlan>.Failure(RepositoryField, repositoryError);
        var revision = string.IsNullOrWhiteSpace(request.Revision) ? DefaultRevision : request.Revision.Trim();
        if (revision.Length > 200 || revision.Any(char.IsControl))
            return OperationResult<HubDownloadPlan>.Failure(RevisionField, "The revision must be a branch, tag or commit (at most 200 characters).");
        var token = string.IsNullOrWhiteSpace(request.AccessToken) ? null : request.AccessToken.Trim();

        var errors = new ValidationErrors();
        var (targetPath, pathError) = ModelPathResolver.Normalize(string.IsNullOrWhiteSpace(request.TargetPath) ? repository : request.TargetPath);
        if (pathError is not null) errors.Add(TargetPathField, pathError);
        var technicalName = string.IsNullOrWhiteSpace(request.TechnicalName) ? DefaultTechnicalName(repository) : request.TechnicalName.Trim();
        var modelName = string.IsNullOrWhiteSpace(request.ModelName) ? repository : request.ModelName.Trim();

        try
        {
            var info = await hub.GetModelInfoAsync(repository, revision, token, cancellationToken);
            var (files, skipped, refusal) = await SelectFilesAsync(info, token, cancellationToken);
            if (refusal is not null) return OperationResult<HubDownloadPlan>.Failure(RepositoryField, refusal);

            var config = await hub.GetBytesAsync(repository, info.Commit, ModelCardReader.ConfigFile, token, cancellationToken);
            var architecture = ArchitectureOf(config);
            if (!TrainableArchitectures.Contains(architecture))
            {
                errors.Add(RepositoryField, $"{repository} is a {architecture} model; the training engine trains {string.Join(", ", TrainableArchitectures.All)} only.");
            }
            if (targetPath is not null && new ModelPathResolver(directories.ModelsRoot).ResolveNew(targetPath).Error is { } taken) errors.Add(TargetPathField, taken);
            foreach (var (field, messages) in (await baseModels.CheckNamesAsync(technicalName, modelName, cancellationToken)).ToDictionary())
                foreach (var message in messages) errors.Add(field, message);
            if (errors.Any) return OperationResult<HubDownloadPlan>.Failure(errors);

            return OperationResult<HubDownloadPlan>.Success(new HubDownloadPlan(repository, revision, info.Commit, files, skipped, architecture,
                info.Gated, targetPath!, technicalName, modelName));
        }
        catch (HubException ex)
        {
            return OperationResult<HubDownloadPlan>.Failure(RepositoryField, ex.Message);
        }
    }

    /// <summary>Plans again (so what is queued is what the Hub has now), then queues the download with its commit pinned.</summary>
    public async Task<OperationResult<HubDownload>> StartAsync(HubDownloadRequest request, CancellationToken cancellationToken = default)
    {
        if (_user.DenyChange() is { } denied) return OperationResult<HubDownload>.Failure(OperationResult<HubDownload>.General, denied);
        var planned = await PlanAsync(request, cancellationToken);
        if (!planned.Succeeded) return OperationResult<HubDownload>.Failure(ToErrors(planned.Errors));
        var plan = planned.Value!;

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var active = await db.HubDownloads.Where(d => d.Status == WorkStatus.Queued || d.Status == WorkStatus.Running)
            .Select(d => new { d.TargetPath, d.TechnicalName }).ToListAsync(cancellationToken);
        if (active.Any(a => string.Equals(a.TargetPath, plan.TargetPath, StringComparison.OrdinalIgnoreCase)))
            return OperationResult<HubDownload>.Failure(TargetPathField, $"Another download is already writing {plan.TargetPath}.");
        if (active.Any(a => BaseModel.KeyOf(a.TechnicalName) == BaseModel.KeyOf(plan.TechnicalName)))
            return OperationResult<HubDownload>.Failure(BaseModelService.TechnicalNameField, $"Another download will register a base model named {plan.TechnicalName}.");

        var token = string.IsNullOrWhiteSpace(request.AccessToken) ? null : request.AccessToken.Trim();
        var download = new HubDownload
        {
            Id = Guid.CreateVersion7(),
            Repository = plan.Repository,
            Revision = plan.Revision,
            Commit = plan.Commit,
            TargetPath = plan.TargetPath,
            TechnicalName = plan.TechnicalName,
            ModelName = plan.ModelName,
            Architecture = plan.Architecture,
            Files = plan.Files,
            TotalBytes = plan.TotalBytes,
            ProtectedToken = token is null ? null : _tokens.Protect(token),
            CreatedAtUtc = DateTime.UtcNow,
            CreatedBy = _user.Name,
        };
        download.Enqueue(download.CreatedAtUtc);
        db.HubDownloads.Add(download);
        await db.SaveChangesAsync(cancellationToken);
        await queue.EnqueueAsync(WorkKind.Download, download.Id, cancellationToken);
        return OperationResult<HubDownload>.Success(download);
    }

    /// <summary>The token the download was queued with, decrypted for its requests (never logged).</summary>
    public string? TokenOf(HubDownload download)
    {
        if (download.ProtectedToken is null) return null;
        try
        {
            return _tokens.Unprotect(download.ProtectedToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // The key ring changed (a new data folder, another machine): the download goes on without the token.
            return null;
        }
    }

    /// <summary>
    /// Cancels a queued or running download: the row ends Cancelled at once; a running job sees that at its next
    /// progress report, stops and deletes the bytes it wrote.
    /// </summary>
    public async Task<OperationResult<bool>> CancelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var download = await GetAsync(id, cancellationToken);
        if (download is null) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This download no longer exists.");
        if (_user.DenyAlter(download.CreatedBy, "cancel it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (download.IsFinished) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This download has already ended.");
        await queue.RemoveAsync(WorkKind.Download, id, cancellationToken);
        var cancelled = await work.FinishAsync<HubDownload>(id, WorkStatus.Cancelled, null, cancellationToken);
        if (download.Status == WorkStatus.Queued) Folders.DeleteQuietly(DataDirectories.PartialOf(TargetFolderOf(download)));
        return OperationResult<bool>.Success(cancelled);
    }

    /// <summary>Removes an ended download's entry and log (the model it registered stays).</summary>
    public async Task<OperationResult<bool>> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var download = await GetAsync(id, cancellationToken);
        if (download is null) return OperationResult<bool>.Success(false);
        if (_user.DenyAlter(download.CreatedBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);
        if (!download.IsFinished) return OperationResult<bool>.Failure(OperationResult<bool>.General, "Cancel the download before removing it.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var removed = await db.HubDownloads.Where(d => d.Id == id).ExecuteDeleteAsync(cancellationToken) > 0;
        Folders.DeleteQuietly(FolderOf(id));
        return OperationResult<bool>.Success(removed);
    }

    /// <summary>Progress of a running download. False when the row is no longer Running (cancelled): the job stops.</summary>
    public Task<bool> ReportAsync(Guid id, long doneBytes, double? bytesPerSecond, string stage, CancellationToken cancellationToken = default) =>
        // Tracked, not a bulk update: SaveChanges is what tells the pages (WorkChanges) that the download moved on.
        work.UpdateAsync<HubDownload>(id, (download, _) =>
        {
            if (download.Status != WorkStatus.Running) return false;
            download.DoneBytes = doneBytes;
            download.BytesPerSecond = bytesPerSecond;
            download.Stage = stage.Length > 400 ? stage[..400] : stage;
            return true;
        }, cancellationToken);

    public Task<bool> SucceedAsync(Guid id, Guid baseModelId, CancellationToken cancellationToken = default) =>
        work.UpdateAsync<HubDownload>(id, (download, now) =>
        {
            download.BaseModelId = baseModelId;
            return download.Finish(WorkStatus.Succeeded, null, now);
        }, cancellationToken);

    /// <summary>A console stop: back in the queue, bytes on disk kept for the resume.</summary>
    public Task RequeueAsync(Guid id, CancellationToken cancellationToken = default) =>
        work.EnqueueAsync<HubDownload>(id, d => d.Status == WorkStatus.Running, cancellationToken);

    /// <summary>"Qwen/Qwen2.5-0.5B-Instruct" → "Qwen2.5-0.5B-Instruct", shortened and cleaned to a valid technical name.</summary>
    public static string DefaultTechnicalName(string repository)
    {
        var name = repository[(repository.LastIndexOf('/') + 1)..];
        name = NotAllowed().Replace(name, "-");
        if (name.Length > TechnicalName.MaxLength) name = name[..TechnicalName.MaxLength];
        name = name.Trim('.', '-', '_');
        return name.Length == 0 ? "hub-model" : name;
    }

    /// <summary>An error message, or null for "org/name" made of the characters the Hub allows.</summary>
    public static string? ValidateRepository(string repository)
    {
        if (repository.Length == 0) return "The repository id is required, e.g. Qwen/Qwen2.5-0.5B-Instruct.";
        if (repository.Length > RepositoryMaxLength) return $"The repository id must be at most {RepositoryMaxLength} characters.";
        return RepositoryPattern().IsMatch(repository) && !repository.Contains("..", StringComparison.Ordinal)
            ? null
            : "Enter the repository id as owner/name (letters, digits, '-', '_' and '.'), e.g. Qwen/Qwen2.5-0.5B-Instruct.";
    }


    /// <summary>The files to fetch, the ones left on the Hub, or why the repository cannot be used.</summary>
    private async Task<(IReadOnlyList<HubFile> Files, IReadOnlyList<string> Skipped, string? Refusal)> SelectFilesAsync(
        HubModelInfo info, string? token, CancellationToken cancellationToken)
    {
        var byName = info.Siblings.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var weights = new List<string>();
        if (byName.ContainsKey(ModelCardReader.WeightsIndexFile))
        {
            var index = await hub.GetBytesAsync(info.Id, info.Commit, ModelCardReader.WeightsIndexFile, token, cancellationToken);
            weights.Add(ModelCardReader.WeightsIndexFile);
            weights.AddRange(ShardsOf(index));
        }
        else if (byName.ContainsKey(ModelCardReader.SingleWeightsFile))
        {
            weights.Add(ModelCardReader.SingleWeightsFile);
        }
        else
        {
            var pickles = info.Siblings.Where(s => PickleExtensions.Contains(Path.GetExtension(s.Name), StringComparer.OrdinalIgnoreCase)).Select(s => s.Name).ToList();
            return ([], [], pickles.Count > 0
                ? $"{info.Id} publishes its weights only as PyTorch pickles ({string.Join(", ", pickles.Take(3))}); DeepExtension fetches safetensors weights only, because loading a pickle can run code. Choose a repository with .safetensors weights."
                : $"{info.Id} has no {ModelCardReader.SingleWeightsFile} or {ModelCardReader.WeightsIndexFile} at this revision, so it is not a model the engine can load.");
        }
        if (!byName.ContainsKey(ModelCardReader.ConfigFile)) return ([], [], $"{info.Id} has no config.json at this revision, so it is not a Transformers model.");

        var names = weights.Concat(CompanionFiles.Where(byName.ContainsKey)).Distinct(StringComparer.Ordinal).ToList();
        var missing = names.Where(n => !byName.ContainsKey(n)).ToList();
        if (missing.Count > 0) return ([], [], $"{ModelCardReader.WeightsIndexFile} of {info.Id} names shards the repository does not have: {string.Join(", ", missing.Take(3))}.");
        var files = new List<HubFile>();
        foreach (var name in names)
        {
            // Shard names come from the repository's index: a file name, never a path that could leave the folder.
            if (name.IndexOfAny(['/', '\\', '\0']) >= 0 || name is "." or "..")
                return ([], [], $"{ModelCardReader.WeightsIndexFile} of {info.Id} names a shard \"{name}\" that is not a plain file name.");
            var sibling = byName[name];
            if (sibling.Size is null) return ([], [], $"The Hub did not say the size of {name}; the endpoint may not be a Hugging Face Hub.");
            if (sibling.LfsSha256 is null && sibling.BlobId is null) return ([], [], $"The Hub published no checksum for {name}, so it could not be verified.");
            files.Add(new HubFile(name, sibling.Size.Value, sibling.LfsSha256, sibling.BlobId));
        }
        var skipped = info.Siblings.Select(s => s.Name).Where(n => !names.Contains(n, StringComparer.Ordinal)).ToList();
        return (files, skipped, null);
    }

    private static IEnumerable<string> ShardsOf(byte[] index)
    {
        try
        {
            using var json = JsonDocument.Parse(index);
            if (!json.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new HubException($"{ModelCardReader.WeightsIndexFile} has no \"weight_map\".", HubFailure.Protocol);
            return map.EnumerateObject().Select(p => p.Value.GetString() ?? "").Where(s => s.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();
        }
        catch (JsonException ex)
        {
            throw new HubException($"{ModelCardReader.WeightsIndexFile} is not valid JSON: {ex.Message}", HubFailure.Protocol, inner: ex);
        }
    }

    private static string ArchitectureOf(byte[] config)
    {
        try
        {
            using var json = JsonDocument.Parse(config);
            var c = json.RootElement;
            if (c.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array && archs.GetArrayLength() > 0
                && archs[0].GetString() is { Length: > 0 } architecture) return architecture;
            if (c.TryGetProperty("model_type", out var type) && type.GetString() is { Length: > 0 } modelType) return modelType;
            throw new HubException("config.json names no architecture (no \"architectures\" or \"model_type\").", HubFailure.Protocol);
        }
        catch (JsonException ex)
        {
            throw new HubException($"config.json is not valid JSON: {ex.Message}", HubFailure.Protocol, inner: ex);
        }
    }

    private static ValidationErrors ToErrors(IReadOnlyDictionary<string, string[]> errors)
    {
        var result = new ValidationErrors();
        foreach (var (field, messages) in errors)
            foreach (var message in messages) result.Add(field, message);
        return result;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex NotAllowed();
}
