namespace DeepExtension.Core.CustomizedModels;

/// <summary>
/// A trained adapter registered when its run succeeds, tied to its base model, named
/// [base_model_technical_name]_[train_name]_[YYYYMMDD]_[first4ofTrainingUUID].
/// </summary>
public sealed class CustomizedModel
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public Guid BaseModelId { get; set; }
    public Guid TrainingRunId { get; set; }
    public required string TrainName { get; set; }
    /// <summary>The PEFT adapter folder, relative to the data root.</summary>
    public required string AdapterPath { get; set; }
    /// <summary>JSON: training configuration and evaluation summary.</summary>
    public string CardJson { get; set; } = "{}";
    public DateTime CreatedAtUtc { get; set; }
    /// <summary>Who created it (their email); null for rows from before accounts existed and for the system.</summary>
    public string? CreatedBy { get; set; }

    /// <summary>The card's training parameters, typed (null for a card without them).</summary>
    public TrainingCard? TrainingCard => TrainingCard.FromCustomizedModelCard(CardJson);

    /// <summary>The seed's naming rule; the date is the day training finished (UTC).</summary>
    public static string NameFor(string baseTechnicalName, string trainName, DateTime finishedUtc, Guid runId) =>
        $"{baseTechnicalName}_{trainName}_{finishedUtc:yyyyMMdd}_{runId.ToString("N")[..4]}";
}
