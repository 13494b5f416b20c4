using DeepExtension.Core.Audit;
using DeepExtension.Core.Accounts;
using System.Runtime.CompilerServices;
using DeepExtension.Core.Common;
using DeepExtension.Core.Data;
using DeepExtension.Core.Storage;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Datasets;

/// <summary>What an upload brings: the main file, the confirmed layout, and the optional validation split.</summary>
/// <param name="Format">The layout the user confirmed; null accepts the detected one.</param>
/// <param name="ValidationPercent">0–50 % of the rows held out for validation; 0 when none or when a validation file is given.</param>
public sealed record DatasetUpload(
    Stream Content,
    string FileName,
    DatasetFormat? Format = null,
    int ValidationPercent = 0,
    Stream? ValidationContent = null,
    string? ValidationFileName = null);

/// <summary>The outcome of a successful upload. <see cref="IsNew"/> is false when the upload matched an existing version.</summary>
public sealed record DatasetUploadResult(Dataset Dataset, DatasetVersion Version, bool IsNew, DatasetInspection Inspection)
{
    public string Message => IsNew
        ? $"{Dataset.Name} version {Version.VersionNumber} stored: {Version.RowCount:N0} rows, {DatasetFormats.ShortName(Version.Format)}."
        : $"The upload is identical to version {Version.VersionNumber} of {Dataset.Name}; no new version was created.";
}

/// <summary>
/// Stores datasets as immutable, hash-named, read-only files with numbered versions. Every file is validated as a
/// stream before anything is kept: an invalid upload leaves neither a file nor a row.
/// </summary>
public sealed class DatasetService(IDbContextFactory<DeepExtensionDbContext> dbFactory, DataDirectories directories, TimeProvider clock, ICurrentUser? currentUser = null)
{
    public const string NameField = nameof(Dataset.Name);
    public const string DescriptionField = nameof(Dataset.Description);
    public const string FileField = "File";
    public const string ValidationField = "Validation";
    public const int MaxValidationPercent = 50;

    /// <summary>
    /// The fewest validation rows worth evaluating on: below it an evaluation loss is noise. The upload form refuses
    /// a split that would hold fewer (saying how many it would hold).
    /// </summary>
    public const int MinValidationRows = 5;

    /// <summary>Where uploads wait while they are validated: on the same volume as the datasets, so a move is a rename.</summary>
    private readonly ICurrentUser _user = currentUser ?? SystemUser.Instance;

    public string IncomingFolder => Path.Combine(directories.Datasets, ".incoming");

    public async Task<IReadOnlyList<Dataset>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var datasets = await db.Datasets.AsNoTracking().Include(d => d.Versions).ToListAsync(cancellationToken);
        foreach (var dataset in datasets) dataset.Versions.Sort((a, b) => a.VersionNumber.CompareTo(b.VersionNumber));
        return datasets.OrderBy(d => d.NameKey, StringComparer.Ordinal).ToList();
    }

    /// <summary>A dataset with its versions, oldest first.</summary>
    public async Task<Dataset?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await db.Datasets.AsNoTracking().Include(d => d.Versions).FirstOrDefaultAsync(d => d.Id == id, cancellationToken);
        dataset?.Versions.Sort((a, b) => a.VersionNumber.CompareTo(b.VersionNumber));
        return dataset;
    }

    public async Task<DatasetVersion?> GetVersionAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == versionId, cancellationToken);
    }

    /// <summary>Reads a file without storing it: detected layout, rows, preview, hash and line-numbered errors.</summary>
    public Task<DatasetInspection> InspectAsync(Stream content, string fileName, DatasetFormat? format = null,
        int previewRows = DatasetValidator.DefaultPreviewRows, CancellationToken cancellationToken = default) =>
        DatasetValidator.InspectAsync(content, fileName, format, previewRows, cancellationToken: cancellationToken);

    /// <summary><see cref="InspectAsync(Stream, string, DatasetFormat?, int, CancellationToken)"/> for a file on disk.</summary>
    public async Task<DatasetInspection> InspectFileAsync(string path, string? fileName = null, DatasetFormat? format = null,
        int previewRows = DatasetValidator.DefaultPreviewRows, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        await using var stream = OpenRead(path);
        return await DatasetValidator.InspectAsync(stream, fileName ?? path, format, previewRows, progress, cancellationToken);
    }

    /// <summary>
    /// Removes uploads left in <see cref="IncomingFolder"/> by a process that stopped mid-upload. Called at start-up;
    /// only files older than <paramref name="olderThan"/> go, so a running upload is never touched.
    /// </summary>
    public int DeleteStaleIncomingFiles(TimeSpan olderThan)
    {
        if (!Directory.Exists(IncomingFolder)) return 0;
        var cutoff = clock.GetUtcNow().UtcDateTime - olderThan;
        var deleted = 0;
        foreach (var file in Directory.EnumerateFiles(IncomingFolder))
        {
            if (File.GetLastWriteTimeUtc(file) >= cutoff) continue;
            TryDelete(file);
            if (!File.Exists(file)) deleted++;
        }
        return deleted;
    }

    /// <summary>A fresh path under <see cref="IncomingFolder"/> for a browser upload to land in; the caller deletes it.</summary>
    public string NewIncomingFilePath(string fileName)
    {
        Directory.CreateDirectory(IncomingFolder);
        return Path.Combine(IncomingFolder, $"{Guid.NewGuid():N}{Path.GetExtension(fileName).ToLowerInvariant()}.upload");
    }

    /// <summary>The rules a new dataset name must meet before uniqueness is checked; null when it meets them.</summary>
    public static string? ValidateName(string? name)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0) return "The dataset name is required.";
        if (trimmed.Length > Dataset.NameMaxLength) return $"The dataset name must be at most {Dataset.NameMaxLength} characters.";
        return null;
    }

    /// <summary>Creates a dataset whose version 1 is the upload.</summary>
    public async Task<OperationResult<DatasetUploadResult>> CreateAsync(string name, string? description, DatasetUpload upload,
        CancellationToken cancellationToken = default)
    {
        if (_user.DenyChange() is { } denied) return OperationResult<DatasetUploadResult>.Failure(OperationResult<DatasetUploadResult>.General, denied);
        var errors = new ValidationErrors();
        var trimmedName = name?.Trim() ?? "";
        if (ValidateName(name) is { } nameError) errors.Add(NameField, nameError);
        else
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var key = Dataset.KeyOf(trimmedName);
            if (await db.Datasets.AnyAsync(d => d.NameKey == key, cancellationToken))
            {
                errors.Add(NameField, $"The name \"{trimmedName}\" is already used by another dataset; to upload a new version of it, choose it in the \"Dataset\" list instead of \"A new dataset\".");
            }
        }
        var trimmedDescription = string.IsNullOrWhiteSpace(description) ? null : description.Trim();
        if (trimmedDescription?.Length > Dataset.DescriptionMaxLength)
        {
            errors.Add(DescriptionField, $"The description must be at most {Dataset.DescriptionMaxLength} characters.");
        }
        CheckSplit(upload, errors);
        if (errors.Any) return OperationResult<DatasetUploadResult>.Failure(errors);

        var now = clock.GetUtcNow().UtcDateTime;
        var dataset = new Dataset
        {
            Id = Guid.CreateVersion7(),
            Name = trimmedName,
            NameKey = Dataset.KeyOf(trimmedName),
            Description = trimmedDescription,
            CreatedAtUtc = now,
            CreatedBy = _user.Name,
        };
        return await StoreAsync(dataset, isNewDataset: true, upload, cancellationToken);
    }

    /// <summary>Adds a shipped sample dataset under its own name, validated and stored like any upload.</summary>
    public async Task<OperationResult<DatasetUploadResult>> AddSampleAsync(string key, CancellationToken cancellationToken = default)
    {
        if (SampleDatasets.Find(key) is not { } sample)
            return OperationResult<DatasetUploadResult>.Failure(OperationResult<DatasetUploadResult>.General, $"There is no sample dataset \"{key}\".");
        await using var content = sample.Open();
        return await CreateAsync(sample.Name, $"{sample.Description} Sample dataset shipped with DeepExtension, {SampleDatasets.Licence}.",
            new DatasetUpload(content, sample.FileName), cancellationToken);
    }

    /// <summary>Adds the upload as the next version, unless it is identical to an existing version.</summary>
    public async Task<OperationResult<DatasetUploadResult>> AddVersionAsync(Guid datasetId, DatasetUpload upload,
        CancellationToken cancellationToken = default)
    {
        if (_user.DenyChange() is { } denied) return OperationResult<DatasetUploadResult>.Failure(OperationResult<DatasetUploadResult>.General, denied);
        var errors = new ValidationErrors();
        Dataset? dataset;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            dataset = await db.Datasets.AsNoTracking().Include(d => d.Versions).FirstOrDefaultAsync(d => d.Id == datasetId, cancellationToken);
        }
        if (dataset is null) errors.Add(OperationResult<DatasetUploadResult>.General, "This dataset no longer exists.");
        else if (_user.DenyAlter(dataset.CreatedBy, "add a version to it") is { } notYours)
            return OperationResult<DatasetUploadResult>.Failure(OperationResult<DatasetUploadResult>.General, notYours);
        CheckSplit(upload, errors);
        if (errors.Any) return OperationResult<DatasetUploadResult>.Failure(errors);
        return await StoreAsync(dataset!, isNewDataset: false, upload, cancellationToken);
    }

    /// <summary>
    /// Removes a dataset, its versions and their files; refused while trains use one of its versions
    /// (see <see cref="FindReferencesAsync"/>).
    /// </summary>
    public async Task<OperationResult<bool>> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var dataset = await db.Datasets.Include(d => d.Versions).FirstOrDefaultAsync(d => d.Id == id, cancellationToken);
        if (dataset is null) return OperationResult<bool>.Failure(OperationResult<bool>.General, "This dataset was already removed.");
        if (_user.DenyAlter(dataset.CreatedBy, "delete it") is { } denied) return OperationResult<bool>.Failure(OperationResult<bool>.General, denied);

        var references = await FindReferencesAsync(db, dataset, cancellationToken);
        if (references.Count > 0)
        {
            return OperationResult<bool>.Failure(OperationResult<bool>.General,
                $"{dataset.Name} is used by {string.Join(", ", references)}; delete those first.");
        }

        db.Datasets.Remove(dataset);
        AuditTrail.Add(db, _user, clock, AuditActions.Deleted, AuditObjects.Dataset, dataset.Id, dataset.Name);
        await db.SaveChangesAsync(cancellationToken);
        DeleteFolder(Path.Combine(directories.Datasets, dataset.Id.ToString("N")));
        return OperationResult<bool>.Success(true);
    }

    /// <summary>The trains that use one of the dataset's versions, for the refusal message.</summary>
    private static async Task<IReadOnlyList<string>> FindReferencesAsync(DeepExtensionDbContext db, Dataset dataset, CancellationToken cancellationToken)
    {
        var versionIds = await db.DatasetVersions.Where(v => v.DatasetId == dataset.Id).Select(v => v.Id).ToListAsync(cancellationToken);
        var trains = await db.TrainingRuns.Where(r => versionIds.Contains(r.DatasetVersionId)).Select(r => r.Name).ToListAsync(cancellationToken);
        return trains.Distinct().Select(name => $"train {name}").ToList();
    }

    /// <summary>The absolute path of a stored file (<see cref="DatasetVersion.StoredPath"/> or <see cref="DatasetVersion.ValidationStoredPath"/>).</summary>
    public string FullPathOf(string storedPath) => Path.Combine(directories.Datasets, storedPath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>
    /// The version's rows as normalised examples, streamed. <see cref="DatasetPart.Train"/> and
    /// <see cref="DatasetPart.Validation"/> apply the version's split (a percentage is deterministic per row).
    /// </summary>
    public async IAsyncEnumerable<DatasetExample> ReadAsync(DatasetVersion version, DatasetPart part = DatasetPart.All,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (part == DatasetPart.Validation && version.HasValidationFile)
        {
            await using var validation = OpenRead(FullPathOf(version.ValidationStoredPath!));
            await foreach (var example in DatasetReader.ReadAsync(validation, FileTypeOfStored(version.ValidationStoredPath!), version.Format, cancellationToken))
            {
                yield return example;
            }
            yield break;
        }
        if (part == DatasetPart.Validation && version.ValidationPercent == 0) yield break;

        await using var stream = OpenRead(FullPathOf(version.StoredPath));
        await foreach (var example in DatasetReader.ReadAsync(stream, version.FileType, version.Format, cancellationToken))
        {
            var isValidation = DatasetSplit.IsValidation(example.Index, version.ValidationPercent, version.ContentSha256);
            if (part == DatasetPart.All || (part == DatasetPart.Validation) == isValidation) yield return example;
        }
    }

    /// <summary>The first rows of a version, for the details view.</summary>
    public async Task<IReadOnlyList<DatasetExample>> PreviewAsync(DatasetVersion version, int rows = 10, CancellationToken cancellationToken = default)
    {
        var preview = new List<DatasetExample>(rows);
        await foreach (var example in ReadAsync(version, DatasetPart.All, cancellationToken))
        {
            preview.Add(example);
            if (preview.Count >= rows) break;
        }
        return preview;
    }

    private static void CheckSplit(DatasetUpload upload, ValidationErrors errors)
    {
        if (upload.ValidationPercent is < 0 or > MaxValidationPercent)
        {
            errors.Add(ValidationField, $"The validation share must be between 0 and {MaxValidationPercent} %.");
        }
        else if (upload.ValidationPercent > 0 && upload.ValidationContent is not null)
        {
            errors.Add(ValidationField, "Choose either a validation percentage or a validation file, not both.");
        }
    }

    private async Task<OperationResult<DatasetUploadResult>> StoreAsync(Dataset dataset, bool isNewDataset, DatasetUpload upload,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(IncomingFolder);
        var mainTemp = Path.Combine(IncomingFolder, $"{Guid.NewGuid():N}.tmp");
        var validationTemp = Path.Combine(IncomingFolder, $"{Guid.NewGuid():N}.tmp");
        var placed = new List<string>();
        try
        {
            var errors = new ValidationErrors();
            var main = await CopyAndInspectAsync(upload.Content, upload.FileName, upload.Format, mainTemp, cancellationToken);
            foreach (var message in main.ErrorMessages) errors.Add(FileField, message);

            DatasetInspection? validation = null;
            if (upload.ValidationContent is not null && main.Format is { } format)
            {
                validation = await CopyAndInspectAsync(upload.ValidationContent, upload.ValidationFileName ?? "validation", format, validationTemp, cancellationToken);
                foreach (var message in validation.ErrorMessages) errors.Add(ValidationField, $"{validation.FileName}: {message}");
            }
            if (errors.Any) return OperationResult<DatasetUploadResult>.Failure(errors);

            var identical = dataset.Versions.FirstOrDefault(v =>
                v.ContentSha256 == main.Sha256 && v.Format == main.Format && v.ValidationPercent == upload.ValidationPercent
                && v.ValidationSha256 == validation?.Sha256);
            if (identical is not null) return OperationResult<DatasetUploadResult>.Success(new DatasetUploadResult(dataset, identical, false, main));

            var number = dataset.Versions.Count == 0 ? 1 : dataset.Versions.Max(v => v.VersionNumber) + 1;
            var folder = dataset.Id.ToString("N");
            var version = new DatasetVersion
            {
                Id = Guid.CreateVersion7(),
                DatasetId = dataset.Id,
                VersionNumber = number,
                ContentSha256 = main.Sha256,
                OriginalFileName = Truncate(main.FileName, 260),
                StoredPath = $"{folder}/v{number}-{main.Sha256[..12]}.{DatasetValidator.ExtensionOf(main.FileType!.Value)}",
                FileType = main.FileType.Value,
                Format = main.Format!.Value,
                RowCount = main.RowCount,
                SizeBytes = main.SizeBytes,
                ValidationPercent = upload.ValidationPercent,
                CreatedAtUtc = clock.GetUtcNow().UtcDateTime,
            };
            if (validation is not null)
            {
                version.ValidationOriginalFileName = Truncate(validation.FileName, 260);
                version.ValidationSha256 = validation.Sha256;
                version.ValidationStoredPath = $"{folder}/v{number}-{main.Sha256[..12]}.validation-{validation.Sha256[..12]}.{DatasetValidator.ExtensionOf(validation.FileType!.Value)}";
                version.ValidationRowCount = validation.RowCount;
                version.ValidationSizeBytes = validation.SizeBytes;
            }

            Directory.CreateDirectory(Path.Combine(directories.Datasets, folder));
            Place(mainTemp, FullPathOf(version.StoredPath), placed);
            if (validation is not null) Place(validationTemp, FullPathOf(version.ValidationStoredPath!), placed);

            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (isNewDataset) db.Datasets.Add(dataset);
            db.DatasetVersions.Add(version);
            AuditTrail.Add(db, _user, clock, AuditActions.Uploaded, AuditObjects.Dataset, dataset.Id, dataset.Name,
                $"version {version.VersionNumber}: {version.OriginalFileName}, {version.RowCount:N0} rows");
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException ex) when (!DatabaseErrors.IsDuplicate(ex))
            {
                RemovePlaced(placed);
                return OperationResult<DatasetUploadResult>.Failure(OperationResult<DatasetUploadResult>.General, DatabaseErrors.Refused(ex));
            }
            catch (DbUpdateException)
            {
                RemovePlaced(placed);
                return OperationResult<DatasetUploadResult>.Failure(OperationResult<DatasetUploadResult>.General, isNewDataset
                    ? $"Another dataset named \"{dataset.Name}\" was saved at the same time. Nothing was saved; try again."
                    : $"Another version of {dataset.Name} was saved at the same time. Nothing was saved; try again.");
            }
            placed.Clear();

            var stored = await GetAsync(dataset.Id, cancellationToken) ?? dataset;
            return OperationResult<DatasetUploadResult>.Success(new DatasetUploadResult(stored, version, true, main));
        }
        catch
        {
            RemovePlaced(placed);
            throw;
        }
        finally
        {
            TryDelete(mainTemp);
            TryDelete(validationTemp);
            if (isNewDataset && placed.Count == 0) TryDeleteEmptyFolder(Path.Combine(directories.Datasets, dataset.Id.ToString("N")));
        }
    }

    private static async Task<DatasetInspection> CopyAndInspectAsync(Stream content, string fileName, DatasetFormat? format, string tempPath,
        CancellationToken cancellationToken)
    {
        await using var temp = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
        var inspection = await DatasetValidator.InspectAsync(content, fileName, format, DatasetValidator.DefaultPreviewRows, temp, progress: null, cancellationToken);
        await temp.FlushAsync(cancellationToken);
        return inspection;
    }

    /// <summary>Moves a validated temp file into place and makes it read-only. An existing file with the same name has the same bytes.</summary>
    private static void Place(string temp, string target, List<string> placed)
    {
        if (File.Exists(target)) return;
        File.Move(temp, target);
        placed.Add(target);
        if (OperatingSystem.IsWindows()) File.SetAttributes(target, FileAttributes.ReadOnly);
        else File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static void RemovePlaced(List<string> placed)
    {
        foreach (var file in placed)
        {
            TryDelete(file);
        }
        placed.Clear();
    }

    private static void TryDelete(string file)
    {
        try
        {
            if (!File.Exists(file)) return;
            File.SetAttributes(file, FileAttributes.Normal);
            File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryDeleteEmptyFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
        catch (IOException)
        {
        }
    }

    private static void DeleteFolder(string folder)
    {
        if (!Directory.Exists(folder)) return;
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)) TryDelete(file);
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static DatasetFileType FileTypeOfStored(string storedPath) =>
        DatasetValidator.FileTypeOf(storedPath) ?? throw new InvalidDataException($"Unknown file type of {storedPath}.");

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
