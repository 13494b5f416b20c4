using System.Text.Json.Nodes;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;

namespace DeepExtension.Core.Runs;

/// <summary>
/// One training job: what it trains (base model, exact dataset version, method, every parameter) and how far
/// it got. The run's files live in <c>runs/&lt;id&gt;</c> under the data root (see <see cref="RunFiles"/>).
/// </summary>
public sealed class TrainingRun : WorkItem
{
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

    public long Step { get; set; }
    public long TotalSteps { get; set; }
    public double Epoch { get; set; }
    public double? LastLoss { get; set; }
    public double? BestLoss { get; set; }
    public double? BestEvalLoss { get; set; }
    public double? TokensPerSecond { get; set; }
    public double? EtaSeconds { get; set; }

    public JsonObject Parameters => JsonNode.Parse(ParametersJson)?.AsObject() ?? [];

    /// <summary>The recorded parameters, typed.</summary>
    public TrainingParameters TrainingParameters => TrainingParameters.FromJson(Parameters, Algorithm);

    public override WorkKind Kind => WorkKind.Train;

    protected override int FailureReasonMaxLength => 4000;

    /// <summary>An ETA means nothing once a run has stopped short.</summary>
    protected override void OnFinished(WorkStatus outcome)
    {
        if (outcome != WorkStatus.Succeeded) EtaSeconds = null;
    }

    public double Progress => TotalSteps > 0 ? Math.Clamp((double)Step / TotalSteps, 0, 1) : 0;

    /// <summary>The run folder relative to the data root.</summary>
    public string RelativeDirectory => DataDirectories.RelativeRunFolder(Id);
}
