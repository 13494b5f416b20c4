using System.Text.Json;

namespace DeepExtension.Jobs.Engine.Tokenization;

/// <summary>
/// One message of a conversation as chat templates see it: a dict with "role" and "content", plus any
/// further <see cref="Fields"/> (tool_calls, name, tool_call_id, reasoning_content…) passed through as JSON.
/// A null <see cref="Content"/> is None in the template.
/// </summary>
public sealed record ChatMessage(string Role, string? Content)
{
    public IReadOnlyDictionary<string, JsonElement> Fields { get; init; } = new Dictionary<string, JsonElement>();

    /// <summary>A message from an OpenAI/HF-style JSON object; non-string content (a list of parts) stays in Fields.</summary>
    public static ChatMessage FromJson(JsonElement message)
    {
        var role = message.GetProperty("role").GetString()
                   ?? throw new ArgumentException("A chat message needs a string \"role\".", nameof(message));
        var content = message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        var fields = message.EnumerateObject()
            .Where(p => p.Name != "role" && !(p.Name == "content" && (content is not null || p.Value.ValueKind == JsonValueKind.Null)))
            .ToDictionary(p => p.Name, p => p.Value.Clone());
        return new ChatMessage(role, content) { Fields = fields };
    }
}
