using DeepExtension.Core.Datasets;

namespace DeepExtension.Core.Evaluations;

/// <summary>A prompt to answer and the reference answer it is scored against.</summary>
public sealed record EvaluationPrompt(long Index, IReadOnlyList<DatasetMessage> Prompt, string Reference)
{
    /// <summary>
    /// The prompt and reference of a dataset row: a prompt + answer row as it is; a conversation's turns before its last
    /// assistant turn, and that turn; a preference pair's prompt and chosen answer. Null when the row has no answer.
    /// </summary>
    public static EvaluationPrompt? Of(DatasetExample example) => example switch
    {
        PromptAnswerExample p => new(p.Index, p.Prompt, p.Answer),
        SftExample s when s.Messages.ToList().FindLastIndex(m => m.Role == DatasetRoles.Assistant) is var last and > 0 =>
            new(s.Index, s.Messages.Take(last).ToList(), s.Messages[last].Content),
        PreferenceExample d when d.Chosen.LastOrDefault(m => m.Role == DatasetRoles.Assistant) is { } chosen => new(d.Index, d.Prompt, chosen.Content),
        _ => null,
    };

    /// <summary>The first example of <paramref name="version"/>'s <paramref name="part"/> that has a reference answer, or null.</summary>
    public static async Task<EvaluationPrompt?> FirstAsync(DatasetService datasets, DatasetVersion version, DatasetPart part, CancellationToken cancellationToken = default)
    {
        await foreach (var example in datasets.ReadAsync(version, part, cancellationToken))
        {
            if (Of(example) is { } prompt) return prompt;
        }
        return null;
    }

    /// <summary>The last user turn: what the example asks.</summary>
    public string Question => Prompt.LastOrDefault(m => m.Role == DatasetRoles.User)?.Content ?? Prompt.LastOrDefault()?.Content ?? "";
}
