using System.Text.Json.Nodes;
using DeepExtension.Core.Training;

namespace DeepExtension.Core.Runs;

public enum RunStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// One training job: what it trains (base model, exact dataset version, method, every parameter) and how far
/// it got. The run's files live in <c>runs/&lt;id&gt;</c> under the data root (see <see cref="RunFiles"/>).
/// </summary>
public sealed class TrainingRun
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public Guid BaseModelId { get; set; }
    /// <summary>Snapshot: generated names keep the technical name the run was started with.</summary>
    public required string BaseModelTechnicalName { get; set; }
    public Guid DatasetVersionId { get; set; }
    public Guid MethodId { get; set; }
    public required string MethodName { get; set; }
    public TrainingAlgorithm Algorithm { get; set; }
    /// <summary>Every parameter value the run uses (method defaults already applied).</summary>
    public string ParametersJson { get; set; } = "{}";
    /// <summary>"auto", "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    public RunStatus Status { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    public DateTime? StartedAtUtc { get; set; }
    public DateTime? FinishedAtUtc { get; set; }
    public string? FailureReason { get; set; }
    /// <summary>How many times a worker was started for this run (resumes count).</summary>
    public int Attempts { get; set; }

    public long Step { get; set; }
    public long TotalSteps { get; set; }
    public double Epoch { get; set; }
    public double? LastLoss { get; set; }
    public double? BestLoss { get; set; }
    public double? BestEvalLoss { get; set; }
    public double? TokensPerSecond { get; set; }
    public double? EtaSeconds { get; set; }

    public JsonObject Parameters => JsonNode.Parse(ParametersJson)?.AsObject() ?? [];

    public bool IsFinished => Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;

    public double Progress => TotalSteps > 0 ? Math.Clamp((double)Step / TotalSteps, 0, 1) : 0;

    /// <summary>The run folder relative to the data root.</summary>
    public string RelativeDirectory => Path.Combine("runs", Id.ToString("N"));
}
