namespace DeepExtension.Core.BaseModels;

/// <summary>A registered local Hugging Face model folder that trainings start from.</summary>
public sealed class BaseModel
{
    public Guid Id { get; set; }
    public required string TechnicalName { get; set; }
    /// <summary>Upper-cased technical name: uniqueness ignores case on every database.</summary>
    public string TechnicalNameKey { get; set; } = "";
    public required string ModelName { get; set; }
    public string ModelNameKey { get; set; } = "";
    /// <summary>Relative to the models root, with '/' separators.</summary>
    public required string RelativePath { get; set; }
    public required ModelCard Card { get; set; }
    /// <summary>Ollama TEMPLATE used when deploying models built on this base; deploying requires it.</summary>
    public string? DeploymentTemplate { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    /// <summary>Who created it (their email); null for rows from before accounts existed and for the system.</summary>
    public string? CreatedBy { get; set; }
    public DateTime UpdatedAtUtc { get; set; }
    /// <summary>Lineage of a model downloaded from the Hub: its repository id ("Qwen/Qwen2.5-0.5B-Instruct"); null when registered from a folder.</summary>
    public string? SourceRepository { get; set; }
    /// <summary>The Hub commit the files came from.</summary>
    public string? SourceCommit { get; set; }

    public static string KeyOf(string name) => name.Trim().ToUpperInvariant();
}

/// <summary>Where a downloaded base model came from (its lineage).</summary>
public sealed record BaseModelSource(string Repository, string Commit);

/// <summary>What the Add/Edit form submits.</summary>
public sealed record BaseModelInput(string TechnicalName, string ModelName, string Path, string? DeploymentTemplate);
