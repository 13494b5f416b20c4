using System.Text.Json;
using System.Text.Json.Nodes;
using DeepExtension.Core.Training;

namespace DeepExtension.Core.CustomizedModels;

/// <summary>
/// What a model card says about the training behind it, typed: a customized model's card is one, and a complete
/// model's card embeds its customized model's card under "training". Readers go through here instead of walking the JSON.
/// </summary>
public sealed record TrainingCard(TrainingAlgorithm? Algorithm, TrainingParameters Parameters)
{
    public const string TrainKey = "train";
    public const string AlgorithmKey = "algorithm";
    public const string ParametersKey = "parameters";
    /// <summary>Where a complete model's card keeps its customized model's card.</summary>
    public const string CompleteModelTrainingKey = "training";

    /// <summary>Reads a customized model's card (null when it has no parameters).</summary>
    public static TrainingCard? Read(JsonNode? card)
    {
        if (card?[ParametersKey] is not JsonObject parameters) return null;
        TrainingAlgorithm? algorithm = card[TrainKey]?[AlgorithmKey] is JsonValue value && value.TryGetValue<string>(out var name)
            && Enum.TryParse<TrainingAlgorithm>(name, ignoreCase: true, out var parsed) ? parsed : null;
        return new TrainingCard(algorithm, TrainingParameters.FromJson(parameters, algorithm));
    }

    public static TrainingCard? FromCustomizedModelCard(string cardJson) => Read(Parse(cardJson));

    public static TrainingCard? FromCompleteModelCard(string cardJson) => Read(Parse(cardJson)?[CompleteModelTrainingKey]);

    private static JsonNode? Parse(string json)
    {
        try
        {
            return string.IsNullOrWhiteSpace(json) ? null : JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
