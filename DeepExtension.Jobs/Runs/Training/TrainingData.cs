using DeepExtension.Core.Datasets;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Engine.Training;

namespace DeepExtension.Jobs.Runs.Training;

/// <summary>A DPO pair: prompt + chosen and prompt + rejected, labels only on the completions.</summary>
public sealed record TokenizedPair(SupervisedExample Chosen, SupervisedExample Rejected);

/// <summary>A GRPO prompt: the chat template's rendering up to the assistant's turn, and the reference answer.</summary>
public sealed record TokenizedPrompt(int[] PromptIds, string Answer);

/// <summary>Turns normalised dataset rows into token ids with the model's own tokenizer and chat template.</summary>
public sealed class TrainingData(HfTokenizer tokenizer, ChatTemplate template, string? systemPrompt, int maxTokens, bool trainOnResponsesOnly = true)
{
    private readonly AssistantMasking _masking = new(tokenizer, template);

    public int Skipped { get; private set; }
    public int Truncated { get; private set; }

    public SupervisedExample? Sft(SftExample example)
    {
        var tokenized = _masking.Tokenize(WithSystemPrompt(example.Messages));
        // Without response-only training every token is a target, prompts included.
        var labels = trainOnResponsesOnly ? tokenized.Labels : tokenized.InputIds.ToArray();
        return Fit(tokenized.InputIds, labels);
    }

    public TokenizedPair? Preference(PreferenceExample example)
    {
        var prompt = WithSystemPrompt(example.Prompt);
        var chosen = Completion(prompt, example.Chosen);
        var rejected = Completion(prompt, example.Rejected);
        if (chosen is null || rejected is null) return null;
        return new TokenizedPair(chosen, rejected);
    }

    /// <summary>
    /// The prompt rendered with the generation prompt. Prompts longer than <paramref name="maxPromptTokens"/> keep their
    /// last tokens (TRL truncates prompts on the left), so the assistant header the model continues from stays.
    /// </summary>
    public TokenizedPrompt Prompt(PromptAnswerExample example, int maxPromptTokens)
    {
        var ids = tokenizer.Encode(template.Render(WithSystemPrompt(example.Prompt), addGenerationPrompt: true));
        if (ids.Length > maxPromptTokens)
        {
            Truncated++;
            ids = ids[^maxPromptTokens..];
        }
        return new TokenizedPrompt(ids, example.Answer);
    }

    /// <summary>Prompt + completion tokens, with labels only on the completion's assistant turns.</summary>
    private SupervisedExample? Completion(IReadOnlyList<ChatMessage> prompt, IReadOnlyList<DatasetMessage> completion)
    {
        var full = _masking.Tokenize([.. prompt, .. completion.Select(ToChat)]);
        var promptLength = tokenizer.Encode(template.Render(prompt, addGenerationPrompt: true)).Length;
        var labels = full.Labels.ToArray();
        // Earlier assistant turns inside the prompt are context in DPO, not targets.
        for (var i = 0; i < Math.Min(promptLength, labels.Length); i++) labels[i] = SupervisedExample.IgnoreIndex;
        return Fit(full.InputIds, labels);
    }

    private IReadOnlyList<ChatMessage> WithSystemPrompt(IReadOnlyList<DatasetMessage> messages)
    {
        var chat = messages.Select(ToChat).ToList();
        if (!string.IsNullOrWhiteSpace(systemPrompt) && (chat.Count == 0 || chat[0].Role != DatasetRoles.System))
        {
            chat.Insert(0, new ChatMessage(DatasetRoles.System, systemPrompt));
        }
        return chat;
    }

    private static ChatMessage ToChat(DatasetMessage message) => new(message.Role, message.Content);

    /// <summary>Scored label tokens (the first position is never scored: the model shifts).</summary>
    public static long LabelCount(SupervisedExample example) => GradientAccumulation.LabelTokens([example.Labels]);

    private SupervisedExample? Fit(int[] ids, int[] labels)
    {
        if (ids.Length > maxTokens)
        {
            Truncated++;
            ids = ids[..maxTokens];
            labels = labels[..maxTokens];
        }
        var example = new SupervisedExample(ids, labels);
        if (LabelCount(example) == 0)
        {
            // Nothing to learn once truncated (the answer started past max tokens).
            Skipped++;
            return null;
        }
        return example;
    }
}
