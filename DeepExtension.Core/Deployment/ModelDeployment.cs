using DeepExtension.Core.Work;

namespace DeepExtension.Core.Deployment;

/// <summary>Which page a deployment was started from.</summary>
public enum DeploymentSourceKind
{
    Customized = 0,
    Complete = 1,
}

/// <summary>
/// One model created in an Ollama server from a customized or complete model. The record keeps the environment's
/// name and URL as they were, so it stays meaningful (and removable) when the environment or the source is deleted.
/// </summary>
public sealed class ModelDeployment : WorkItem
{
    /// <summary>The model's name in Ollama, e.g. "tiny_support_20261122_ab12:q4_k_m".</summary>
    public required string OllamaModel { get; set; }
    public DeploymentSourceKind SourceKind { get; set; }
    public Guid SourceModelId { get; set; }
    public required string SourceModelName { get; set; }
    public Guid BaseModelId { get; set; }
    public required string BaseModelName { get; set; }
    public Guid EnvironmentId { get; set; }
    public required string EnvironmentName { get; set; }
    public required string BaseUrl { get; set; }
    /// <summary>One of <see cref="OllamaQuantization.All"/>.</summary>
    public required string Quantization { get; set; }
    public string? SystemPrompt { get; set; }
    /// <summary>True when the adapter had to be merged into its base first (Ollama imports adapters only for some architectures).</summary>
    public bool MergesFirst { get; set; }
    /// <summary>0..1.</summary>
    public double Progress { get; set; }
    /// <summary>What is happening now, e.g. "Uploading model.safetensors" or Ollama's own status line.</summary>
    public string? Stage { get; set; }
    /// <summary>The size Ollama reports for the created model.</summary>
    public long? SizeBytes { get; set; }

    public override WorkKind Kind => WorkKind.Deploy;

    protected override void OnQueued()
    {
        Progress = 0;
        Stage = Attempts == 0 ? "Queued" : "Interrupted by a console stop; continues when the console starts again";
    }

    protected override void OnStarted() => Stage = "Starting";

    protected override void OnFinished(WorkStatus outcome)
    {
        if (outcome == WorkStatus.Succeeded) Progress = 1;
        Stage = outcome switch
        {
            WorkStatus.Succeeded => "Deployed",
            WorkStatus.Failed => "Failed",
            _ => "Cancelled",
        };
    }
}

/// <summary>The quantization modes the Ollama create API offers (the seed's list).</summary>
public static class OllamaQuantization
{
    public const string None = "no_quantization";
    public const string Q8_0 = "q8_0";
    public const string Q4_K_M = "q4_K_M";
    public const string Q4_K_S = "q4_K_S";

    public static IReadOnlyList<string> All { get; } = [None, Q8_0, Q4_K_M, Q4_K_S];

    public static bool IsKnown(string? value) => value is not null && All.Contains(value, StringComparer.Ordinal);

    /// <summary>The value of the create request's "quantize" field; null means "keep the weights as they are".</summary>
    public static string? ToRequestValue(string quantization) => quantization == None ? null : quantization;
}

/// <summary>What the Deploy dialog submits.</summary>
public sealed record DeployRequest(DeploymentSourceKind SourceKind, Guid SourceModelId, Guid EnvironmentId, string OllamaModel, string Quantization);

/// <summary>What the Deploy dialog shows before the user confirms.</summary>
public sealed record DeployPlan(
    DeploymentSourceKind SourceKind,
    Guid SourceModelId,
    string SourceModelName,
    Guid BaseModelId,
    string BaseModelName,
    string Architecture,
    bool MergesFirst,
    string Template,
    string? SystemPrompt,
    IReadOnlyList<string> Stops,
    string DefaultModelName);
