using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;

namespace DeepExtension.Web.Api;

// Requests and responses of /api/v1: the API's own shapes, so entity changes do not silently change the contract.

public sealed record RegisterBaseModelRequest(string TechnicalName, string ModelName, string Path, string? DeploymentTemplate = null);

public sealed record BaseModelResponse(Guid Id, string TechnicalName, string ModelName, string Path, ModelCard Card, bool HasDeploymentTemplate,
    DateTime CreatedAtUtc, string? CreatedBy)
{
    public static BaseModelResponse Of(BaseModel m) =>
        new(m.Id, m.TechnicalName, m.ModelName, m.RelativePath, m.Card, m.DeploymentTemplate is { Length: > 0 }, m.CreatedAtUtc, m.CreatedBy);
}

public sealed record DatasetVersionResponse(Guid Id, int Version, string FileName, DatasetFormat Format, DatasetKind Kind, long Rows, long SizeBytes,
    int ValidationPercent, string? ValidationFileName, long? ValidationRows, string Sha256, DateTime CreatedAtUtc)
{
    public static DatasetVersionResponse Of(DatasetVersion v) =>
        new(v.Id, v.VersionNumber, v.OriginalFileName, v.Format, v.Kind, v.RowCount, v.SizeBytes, v.ValidationPercent, v.ValidationOriginalFileName,
            v.ValidationRowCount, v.ContentSha256, v.CreatedAtUtc);
}

public sealed record DatasetResponse(Guid Id, string Name, string? Description, IReadOnlyList<DatasetVersionResponse> Versions, DateTime CreatedAtUtc, string? CreatedBy)
{
    public static DatasetResponse Of(Dataset d) =>
        new(d.Id, d.Name, d.Description, d.Versions.Select(DatasetVersionResponse.Of).ToList(), d.CreatedAtUtc, d.CreatedBy);
}

/// <summary>The answer to an upload: the dataset and the version the upload became (an existing one when identical).</summary>
public sealed record DatasetUploadResponse(DatasetResponse Dataset, DatasetVersionResponse Version, bool IsNew, string Message);

public sealed record TrainingMethodResponse(Guid Id, string Name, TrainingAlgorithm Algorithm, string Description, bool IsBuiltIn, JsonObject Defaults, string? CreatedBy)
{
    public static TrainingMethodResponse Of(TrainingMethod m) =>
        new(m.Id, m.Name, m.Algorithm, m.Description, m.IsBuiltIn, m.ResolvedDefaults(), m.CreatedBy);
}

/// <param name="Parameters">Values that differ from the method's defaults (keys as in the method's defaults).</param>
public sealed record StartTrainRequest(string Name, Guid BaseModelId, Guid DatasetVersionId, Guid MethodId, JsonObject? Parameters = null, string Device = "auto");

/// <param name="Device">The device the train asked for (cpu, cuda, cuda:N, auto).</param>
/// <param name="NodeName">The node its latest attempt runs (or ran) on; null before it started.</param>
/// <param name="DeviceUsed">The device its latest attempt trains (or trained) on, as the worker reported it ("cpu", "cuda:0").</param>
/// <param name="Attempts">How many times it was started (a resume or a recovery after a lost node adds one).</param>
/// <param name="Parameters">Every training parameter the train runs with, under its method's keys.</param>
public sealed record TrainResponse(Guid Id, string Name, WorkStatus Status, Guid BaseModelId, string BaseModel, Guid MethodId, string Method,
    TrainingAlgorithm Algorithm, Guid DatasetVersionId, string Device, string? NodeName, string? DeviceUsed, int Attempts, long Step, long TotalSteps,
    double Epoch, double? LastLoss, double? BestLoss, double? BestEvalLoss, double? EtaSeconds, string? FailureReason, DateTime CreatedAtUtc,
    DateTime? StartedAtUtc, DateTime? FinishedAtUtc, string? CreatedBy, JsonObject Parameters)
{
    public static TrainResponse Of(TrainingRun r) =>
        new(r.Id, r.Name, r.Status, r.BaseModelId, r.BaseModelTechnicalName, r.MethodId, r.MethodName, r.Algorithm, r.DatasetVersionId, r.Device,
            r.NodeName, r.DeviceUsed, r.Attempts, r.Step, r.TotalSteps, r.Epoch, r.LastLoss, r.BestLoss, r.BestEvalLoss, r.EtaSeconds, r.FailureReason,
            r.CreatedAtUtc, r.StartedAtUtc, r.FinishedAtUtc, r.CreatedBy, r.TrainingParameters.ToJson(r.Algorithm));
}

public sealed record CustomizedModelResponse(Guid Id, string Name, Guid BaseModelId, Guid TrainId, string TrainName, string AdapterPath,
    DateTime CreatedAtUtc, string? CreatedBy)
{
    public static CustomizedModelResponse Of(CustomizedModel m) =>
        new(m.Id, m.Name, m.BaseModelId, m.TrainingRunId, m.TrainName, m.AdapterPath, m.CreatedAtUtc, m.CreatedBy);
}

public sealed record SaveResponse(Guid Id, Guid CustomizedModelId, string OutputName, WorkStatus Status, double Progress, Guid? CompleteModelId,
    string? FailureReason, DateTime CreatedAtUtc, DateTime? FinishedAtUtc, string? CreatedBy)
{
    public static SaveResponse Of(ModelSave s) =>
        new(s.Id, s.CustomizedModelId, s.OutputName, s.Status, s.Progress, s.CompleteModelId, s.FailureReason, s.CreatedAtUtc, s.FinishedAtUtc, s.CreatedBy);
}

public sealed record CompleteModelResponse(Guid Id, string Name, Guid? CustomizedModelId, string CustomizedModelName, Guid BaseModelId, string Path,
    long SizeBytes, DateTime CreatedAtUtc, string? CreatedBy)
{
    public static CompleteModelResponse Of(CompleteModel m) =>
        new(m.Id, m.Name, m.CustomizedModelId, m.CustomizedModelName, m.BaseModelId, m.Path, m.SizeBytes, m.CreatedAtUtc, m.CreatedBy);
}

/// <summary>Every field is optional: the environment defaults to the default one, the name to the Deploy dialog's suggestion.</summary>
public sealed record DeployModelRequest(Guid? EnvironmentId = null, string? OllamaModel = null, string? Quantization = null);

public sealed record DeploymentResponse(Guid Id, string OllamaModel, WorkStatus Status, string? Stage, double Progress, DeploymentSourceKind SourceKind,
    Guid SourceModelId, string SourceModelName, string BaseModel, Guid EnvironmentId, string Environment, string Quantization, long? SizeBytes,
    string? FailureReason, DateTime CreatedAtUtc, DateTime? FinishedAtUtc, string? CreatedBy)
{
    public static DeploymentResponse Of(ModelDeployment d) =>
        new(d.Id, d.OllamaModel, d.Status, d.Stage, d.Progress, d.SourceKind, d.SourceModelId, d.SourceModelName, d.BaseModelName, d.EnvironmentId,
            d.EnvironmentName, d.Quantization, d.SizeBytes, d.FailureReason, d.CreatedAtUtc, d.FinishedAtUtc, d.CreatedBy);
}

public sealed record CreateTokenRequest(string Name, int ExpiresInDays = Accounts.ApiTokenService.DefaultLifetimeDays);

/// <summary><see cref="Token"/> is shown this once: store it; the console keeps only its hash.</summary>
public sealed record CreatedTokenResponse(Guid Id, string Name, string Token, DateTime ExpiresAtUtc);
