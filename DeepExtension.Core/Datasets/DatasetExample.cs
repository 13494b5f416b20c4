namespace DeepExtension.Core.Datasets;

/// <summary>One chat turn. Roles are <see cref="DatasetRoles"/>' lower-case names, as chat templates expect them.</summary>
public sealed record DatasetMessage(string Role, string Content);

public static class DatasetRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    public static readonly IReadOnlyList<string> All = [System, User, Assistant, Tool];
}

/// <summary>
/// A dataset row normalised for training, whatever layout the file used. <see cref="Index"/> is the row's
/// 0-based position among the file's records, <see cref="Line"/> the physical line it starts on.
/// </summary>
public abstract record DatasetExample(long Index, int Line)
{
    public abstract DatasetKind Kind { get; }
}

/// <summary>Supervised fine-tuning: a conversation; its assistant turns are the targets.</summary>
public sealed record SftExample(long Index, int Line, IReadOnlyList<DatasetMessage> Messages) : DatasetExample(Index, Line)
{
    public override DatasetKind Kind => DatasetKind.Sft;
}

/// <summary>A preference pair: the shared prompt turns, then the chosen and the rejected continuations.</summary>
public sealed record PreferenceExample(
    long Index,
    int Line,
    IReadOnlyList<DatasetMessage> Prompt,
    IReadOnlyList<DatasetMessage> Chosen,
    IReadOnlyList<DatasetMessage> Rejected) : DatasetExample(Index, Line)
{
    public override DatasetKind Kind => DatasetKind.Preference;
}

/// <summary>A prompt and the reference answer a reward function compares completions with.</summary>
public sealed record PromptAnswerExample(long Index, int Line, IReadOnlyList<DatasetMessage> Prompt, string Answer) : DatasetExample(Index, Line)
{
    public override DatasetKind Kind => DatasetKind.PromptAnswer;
}
