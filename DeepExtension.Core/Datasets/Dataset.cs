namespace DeepExtension.Core.Datasets;

/// <summary>A named collection of immutable, numbered uploads (versions). Runs reference a version, never the name.</summary>
public sealed class Dataset
{
    public const int NameMaxLength = 100;
    public const int DescriptionMaxLength = 2000;

    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>Upper-cased name: uniqueness ignores case on every database.</summary>
    public string NameKey { get; set; } = "";
    public string? Description { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    /// <summary>Who created it (their email); null for rows from before accounts existed.</summary>
    public string? CreatedBy { get; set; }
    public List<DatasetVersion> Versions { get; set; } = [];

    public DatasetVersion? LatestVersion => Versions.MaxBy(v => v.VersionNumber);

    public static string KeyOf(string name) => name.Trim().ToUpperInvariant();
}

/// <summary>
/// One stored upload: the file under the datasets folder is read-only and named after its content hash,
/// so a version never changes once created.
/// </summary>
public sealed class DatasetVersion
{
    public Guid Id { get; set; }
    public Guid DatasetId { get; set; }
    public int VersionNumber { get; set; }
    /// <summary>Lower-case hex SHA-256 of the stored file's bytes.</summary>
    public required string ContentSha256 { get; set; }
    public required string OriginalFileName { get; set; }
    /// <summary>Relative to the data root's datasets folder, with '/' separators.</summary>
    public required string StoredPath { get; set; }
    public DatasetFileType FileType { get; set; }
    public DatasetFormat Format { get; set; }
    public long RowCount { get; set; }
    public long SizeBytes { get; set; }

    /// <summary>Share of the rows (0–50) held out for validation, chosen deterministically per row; 0 when none or when a validation file is used.</summary>
    public int ValidationPercent { get; set; }
    public string? ValidationOriginalFileName { get; set; }
    public string? ValidationSha256 { get; set; }
    public string? ValidationStoredPath { get; set; }
    public long? ValidationRowCount { get; set; }
    public long? ValidationSizeBytes { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DatasetKind Kind => DatasetFormats.KindOf(Format);

    public bool HasValidationFile => ValidationStoredPath is not null;

    public string ShortHash => ContentSha256.Length >= 12 ? ContentSha256[..12] : ContentSha256;

    /// <summary>How the validation part is chosen, for display.</summary>
    public string SplitDisplay => HasValidationFile
        ? $"file {ValidationOriginalFileName} ({ValidationRowCount:N0} rows)"
        : ValidationPercent > 0 ? $"{ValidationPercent}% of rows" : "none";
}

/// <summary>How the file is laid out on disk.</summary>
public enum DatasetFileType
{
    Jsonl,
    Json,
    Csv,
}

/// <summary>The record layout users bring. <see cref="DatasetFormats.KindOf"/> gives what training sees.</summary>
public enum DatasetFormat
{
    /// <summary><c>instruction</c>, optional <c>input</c>, <c>output</c>, optional <c>system</c>.</summary>
    Alpaca,
    /// <summary><c>messages: [{role, content}]</c>.</summary>
    Chat,
    /// <summary><c>conversations: [{from, value}]</c>.</summary>
    ShareGpt,
    /// <summary><c>prompt</c> (optional with message lists), <c>chosen</c>, <c>rejected</c>, as text or messages.</summary>
    Preference,
    /// <summary><c>prompt</c> + reference <c>answer</c> (or <c>reference</c> / <c>solution</c>), for GRPO rewards.</summary>
    PromptAnswer,
}

/// <summary>What a training method consumes.</summary>
public enum DatasetKind
{
    /// <summary>Supervised fine-tuning: conversations whose assistant turns are learned.</summary>
    Sft,
    /// <summary>Preference pairs (DPO, ORPO, …).</summary>
    Preference,
    /// <summary>Prompts with a reference answer (GRPO).</summary>
    PromptAnswer,
}

/// <summary>Which rows of a version to read.</summary>
public enum DatasetPart
{
    /// <summary>Every row of the main file.</summary>
    All,
    /// <summary>The main file's rows minus the held-out percentage (or all of them when a validation file is used).</summary>
    Train,
    /// <summary>The held-out percentage of the main file, or the validation file.</summary>
    Validation,
}
