namespace DeepExtension.Core.Datasets;

/// <summary>A small dataset the project wrote itself and ships (CC0, see Datasets/Samples/LICENSE.md), added in one click.</summary>
public sealed record SampleDataset(string Key, string Name, string FileName, DatasetKind Kind, string Description)
{
    /// <summary>The file's content, from the assembly's resources.</summary>
    public Stream Open() =>
        typeof(SampleDataset).Assembly.GetManifestResourceStream($"DeepExtension.Core.Datasets.Samples.{FileName}")
        ?? throw new InvalidOperationException($"The sample dataset {FileName} is missing from the build.");
}

/// <summary>The sample datasets: one for each kind of training (SFT twice: instructions and chats).</summary>
public static class SampleDatasets
{
    public const string Licence = "CC0 1.0 (public domain)";

    public static IReadOnlyList<SampleDataset> All { get; } =
    [
        new("instructions", "sample-instructions", "instructions.jsonl", DatasetKind.Sft,
            "24 short tasks with an answer (Alpaca layout): conversions, grammar, definitions. For SFT."),
        new("chat", "sample-chat", "chat.jsonl", DatasetKind.Sft,
            "20 chats (system, user, assistant) answering questions about the console. For SFT."),
        new("preferences", "sample-preferences", "preferences.jsonl", DatasetKind.Preference,
            "20 prompts with a better and a worse answer. For DPO and other preference methods."),
        new("arithmetic", "sample-arithmetic", "arithmetic-prompts.jsonl", DatasetKind.PromptAnswer,
            "20 arithmetic questions with their numeric answer. For GRPO's rewards."),
    ];

    public static SampleDataset? Find(string key) => All.FirstOrDefault(s => s.Key == key);
}
