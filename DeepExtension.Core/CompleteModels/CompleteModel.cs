using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Work;

namespace DeepExtension.Core.CompleteModels;

/// <summary>
/// A standalone Hugging Face model folder made by merging a customized model's adapter into its base model,
/// named [customized_model_name]_s_[first4ofSavingUUID]. It outlives the customized model it came from.
/// </summary>
public sealed class CompleteModel
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>The customized model it was saved from; null once that one is deleted.</summary>
    public Guid? CustomizedModelId { get; set; }
    public required string CustomizedModelName { get; set; }
    public Guid BaseModelId { get; set; }
    public Guid SaveId { get; set; }
    /// <summary>The model folder, relative to the data root.</summary>
    public required string Path { get; set; }
    /// <summary>JSON: the base model card and the training card.</summary>
    public string CardJson { get; set; } = "{}";
    public long SizeBytes { get; set; }
    public DateTime CreatedAtUtc { get; set; }
    /// <summary>Who created it (their email); null for rows from before accounts existed and for the system.</summary>
    public string? CreatedBy { get; set; }

    /// <summary>The training card it embeds, typed (null when its card has none).</summary>
    public TrainingCard? TrainingCard => TrainingCard.FromCompleteModelCard(CardJson);

    /// <summary>The seed's naming rule.</summary>
    public static string NameFor(string customizedModelName, Guid saveId) => $"{customizedModelName}_s_{saveId.ToString("N")[..4]}";
}

/// <summary>One "Save" of a customized model: a background merge job and its outcome.</summary>
/// <remarks><see cref="WorkItem.Id"/> is a random (v4) Guid; its first four hex digits end the complete model's name.</remarks>
public sealed class ModelSave : WorkItem
{
    public Guid CustomizedModelId { get; set; }
    /// <summary>The complete model name this save produces.</summary>
    public required string OutputName { get; set; }
    /// <summary>0..1.</summary>
    public double Progress { get; set; }
    public Guid? CompleteModelId { get; set; }

    public override WorkKind Kind => WorkKind.Save;

    /// <summary>Starting the worker is the first step of a save's progress bar.</summary>
    protected override void OnStarted() => Progress = 0.05;

    protected override void OnFinished(WorkStatus outcome)
    {
        if (outcome == WorkStatus.Succeeded) Progress = 1;
    }
}
