using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// Builds <see cref="SupervisedExample"/>s so that only assistant turns are learned. A template with
/// {% generation %} blocks marks the assistant text itself (as transformers' return_assistant_tokens_mask
/// uses it). Otherwise each assistant turn is found by rendering prefixes of the conversation: the turn
/// starts where the conversation before it, rendered with the generation prompt, ends, and stops where the
/// conversation including it ends. Tokens of the full rendering that start inside such a span get labels.
/// </summary>
public sealed class AssistantMasking(HfTokenizer tokenizer, ChatTemplate template)
{
    private const string AssistantRole = "assistant";

    public SupervisedExample Tokenize(IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools = null)
    {
        var (full, spans) = template.HasGenerationBlocks
            ? template.RenderWithGenerationSpans(messages, tools)
            : RenderWithPrefixSpans(messages, tools);
        var tokens = tokenizer.EncodeWithOffsets(full);
        var inputIds = tokens.Select(t => t.Id).ToArray();
        var labels = tokens
            .Select(t => spans.Any(s => t.Start >= s.Start && t.Start < s.End) ? t.Id : SupervisedExample.IgnoreIndex)
            .ToArray();
        return new SupervisedExample(inputIds, labels);
    }

    private (string Text, IReadOnlyList<(int Start, int End)> Spans) RenderWithPrefixSpans(
        IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools)
    {
        var full = template.Render(messages, addGenerationPrompt: false, tools);
        var spans = new List<(int, int)>();
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != AssistantRole) continue;
            var before = template.Render(messages.Take(i).ToList(), addGenerationPrompt: true, tools);
            var through = template.Render(messages.Take(i + 1).ToList(), addGenerationPrompt: false, tools);
            // Templates that rewrite earlier turns (e.g. drop past reasoning) have no stable prefixes to cut at.
            if (!through.StartsWith(before, StringComparison.Ordinal) || !full.StartsWith(through, StringComparison.Ordinal))
                throw new InvalidOperationException(
                    $"The chat template renders message {i} ({AssistantRole}) differently depending on what follows it, " +
                    "so its tokens cannot be located by rendering prefixes; mark assistant text with {% generation %} blocks instead.");
            spans.Add((before.Length, through.Length));
        }
        return (full, spans);
    }
}
