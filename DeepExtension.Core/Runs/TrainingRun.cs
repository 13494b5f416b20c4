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
    /// <summary>What the run asks for: "auto", "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>The node (its scheduler instance id) that started the latest attempt; null until one did.</summary>
    public string? NodeId { get; set; }
    /// <summary>That node's name, as the Nodes page shows it.</summary>
    public string? NodeName { get; set; }
    /// <summary>The device the latest attempt trains on ("cpu", "cuda:0"), as its worker chose it; null until it did.</summary>
    public string? DeviceUsed { get; set; }
    /// <summary>When the latest attempt was placed on <see cref="NodeName"/>.</summary>
    public DateTime? PlacedAtUtc { get; set; }

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

    /// <summary>A new attempt is placed on <paramref name="nodeId"/>; its worker records the device it then trains on.</summary>
    public void PlaceOn(string nodeId, string nodeName, string? device, DateTime nowUtc)
    {
        NodeId = nodeId;
        NodeName = nodeName;
        DeviceUsed = device;
        PlacedAtUtc = nowUtc;
    }

    public double Progress => TotalSteps > 0 ? Math.Clamp((double)Step / TotalSteps, 0, 1) : 0;

    /// <summary>The run folder relative to the data root.</summary>
    public string RelativeDirectory => DataDirectories.RelativeRunFolder(Id);
}
