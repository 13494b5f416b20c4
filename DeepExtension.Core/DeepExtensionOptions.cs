namespace DeepExtension.Core;

/// <summary>The "DeepExtension" configuration section.</summary>
public sealed class DeepExtensionOptions
{
    public const string SectionName = "DeepExtension";

    /// <summary>Root of everything the console stores: database (SQLite), models, datasets, runs, adapters.</summary>
    public string DataRoot { get; set; } = "data";

    /// <summary>Where base model paths are resolved. Relative to <see cref="DataRoot"/> unless absolute.</summary>
    public string ModelsRoot { get; set; } = "models";

    public DatabaseOptions Database { get; set; } = new();

    public DeploymentOptions Deployment { get; set; } = new();

    public HuggingFace.HubOptions HuggingFace { get; set; } = new();
}

public sealed class DeploymentOptions
{
    /// <summary>
    /// Files at least this large are streamed to Ollama's blob endpoint instead of going through OllamaSharp's
    /// byte-array upload, which would hold the whole file in memory (and cannot exceed 2 GB).
    /// </summary>
    public long StreamedUploadThresholdBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// A blob upload that makes no progress (no bytes accepted, no answer) for this long, and a create that reports
    /// nothing for this long, is stopped and the deployment fails saying so.
    /// </summary>
    public double StallTimeoutSeconds { get; set; } = 120;
}

public enum DatabaseProvider
{
    Sqlite,
    SqlServer,
    PostgreSql,
}

public sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Empty means the embedded default: a SQLite file <c>deepextension.db</c> under the data root (required for the other providers).</summary>
    public string? ConnectionString { get; set; }
}
