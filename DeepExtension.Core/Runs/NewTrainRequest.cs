using System.Text.Json.Nodes;

namespace DeepExtension.Core.Runs;

/// <summary>What "Run the Train" submits: the form's choices and every parameter value.</summary>
public sealed record NewTrainRequest(
    string Name,
    Guid BaseModelId,
    Guid DatasetVersionId,
    Guid MethodId,
    JsonObject Parameters,
    string Device = "auto");
