using System.Text.Json;

namespace DeepExtension.Core.Datasets;

/// <summary>Recognises the record layouts and turns each into the normalised <see cref="DatasetExample"/>s.</summary>
public static class DatasetFormats
{
    /// <summary>Keys accepted for the reference answer of a prompt + answer row, in order of preference.</summary>
    public static readonly IReadOnlyList<string> AnswerKeys = ["answer", "reference", "solution"];

    public static IReadOnlyList<DatasetFormat> All { get; } = Enum.GetValues<DatasetFormat>();

    public static DatasetKind KindOf(DatasetFormat format) => format switch
    {
        DatasetFormat.Preference => DatasetKind.Preference,
        DatasetFormat.PromptAnswer => DatasetKind.PromptAnswer,
        _ => DatasetKind.Sft,
    };

    public static string DisplayName(DatasetFormat format) => format switch
    {
        DatasetFormat.Alpaca => "Alpaca (instruction / input / output)",
        DatasetFormat.Chat => "Chat messages (role / content)",
        DatasetFormat.ShareGpt => "ShareGPT conversations (from / value)",
        DatasetFormat.Preference => "Preference pairs (prompt / chosen / rejected)",
        DatasetFormat.PromptAnswer => "Prompt + reference answer",
        _ => format.ToString(),
    };

    public static string ShortName(DatasetFormat format) => format switch
    {
        DatasetFormat.Alpaca => "Alpaca",
        DatasetFormat.Chat => "Chat",
        DatasetFormat.ShareGpt => "ShareGPT",
        DatasetFormat.Preference => "Preference",
        DatasetFormat.PromptAnswer => "Prompt + answer",
        _ => format.ToString(),
    };

    public static string DisplayName(DatasetKind kind) => kind switch
    {
        DatasetKind.Sft => "SFT",
        DatasetKind.Preference => "Preference",
        DatasetKind.PromptAnswer => "Prompt + answer",
        _ => kind.ToString(),
    };

    /// <summary>CSV holds flat text columns only: the nested message layouts need JSON.</summary>
    public static bool SupportsCsv(DatasetFormat format) => format is not (DatasetFormat.Chat or DatasetFormat.ShareGpt);

    /// <summary>The layout a record's keys announce, or null when none fits.</summary>
    public static DatasetFormat? Detect(JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object) return null;
        if (Has(record, "messages")) return DatasetFormat.Chat;
        if (Has(record, "conversations")) return DatasetFormat.ShareGpt;
        if (Has(record, "chosen") && Has(record, "rejected")) return DatasetFormat.Preference;
        if (Has(record, "instruction")) return DatasetFormat.Alpaca;
        if (Has(record, "prompt") && AnswerKeys.Any(k => Has(record, k))) return DatasetFormat.PromptAnswer;
        return null;
    }

    /// <summary>The record as a training example, or null with the reasons added to <paramref name="errors"/>.</summary>
    public static DatasetExample? Normalize(JsonElement record, DatasetFormat format, long index, int line, List<string> errors)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"expected a JSON object, found {KindName(record.ValueKind)}");
            return null;
        }
        return format switch
        {
            DatasetFormat.Alpaca => Alpaca(record, index, line, errors),
            DatasetFormat.Chat => Chat(record, index, line, errors),
            DatasetFormat.ShareGpt => ShareGpt(record, index, line, errors),
            DatasetFormat.Preference => Preference(record, index, line, errors),
            DatasetFormat.PromptAnswer => PromptAnswer(record, index, line, errors),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    private static SftExample? Alpaca(JsonElement record, long index, int line, List<string> errors)
    {
        var count = errors.Count;
        var instruction = RequiredText(record, "instruction", errors);
        var input = OptionalText(record, "input", errors);
        var output = RequiredText(record, "output", errors);
        var system = OptionalText(record, "system", errors);
        if (errors.Count > count) return null;

        var messages = new List<DatasetMessage>(3);
        if (!string.IsNullOrWhiteSpace(system)) messages.Add(new DatasetMessage(DatasetRoles.System, system));
        messages.Add(new DatasetMessage(DatasetRoles.User,
            string.IsNullOrWhiteSpace(input) ? instruction! : instruction + "\n\n" + input));
        messages.Add(new DatasetMessage(DatasetRoles.Assistant, output!));
        return new SftExample(index, line, messages);
    }

    private static SftExample? Chat(JsonElement record, long index, int line, List<string> errors)
    {
        var messages = Messages(record, "messages", "role", "content", ChatRoles, "system, user, assistant, tool", errors);
        if (messages is null) return null;
        if (!messages.Any(m => m.Role == DatasetRoles.Assistant))
        {
            errors.Add("\"messages\" has no assistant message to learn from");
            return null;
        }
        return new SftExample(index, line, messages);
    }

    private static SftExample? ShareGpt(JsonElement record, long index, int line, List<string> errors)
    {
        var count = errors.Count;
        var system = OptionalText(record, "system", errors);
        var messages = Messages(record, "conversations", "from", "value", ShareGptRoles, "system, human, gpt (or user, assistant, tool)", errors);
        if (messages is null || errors.Count > count) return null;
        if (!messages.Any(m => m.Role == DatasetRoles.Assistant))
        {
            errors.Add("\"conversations\" has no gpt turn to learn from");
            return null;
        }
        if (!string.IsNullOrWhiteSpace(system) && messages[0].Role != DatasetRoles.System)
        {
            messages.Insert(0, new DatasetMessage(DatasetRoles.System, system));
        }
        return new SftExample(index, line, messages);
    }

    private static PreferenceExample? Preference(JsonElement record, long index, int line, List<string> errors)
    {
        var count = errors.Count;
        var chosen = TextOrMessages(record, "chosen", DatasetRoles.Assistant, required: true, errors);
        var rejected = TextOrMessages(record, "rejected", DatasetRoles.Assistant, required: true, errors);
        var prompt = TextOrMessages(record, "prompt", DatasetRoles.User, required: false, errors);
        if (errors.Count > count) return null;

        if (prompt is null)
        {
            // Conversational pairs without a "prompt" (implicit prompt): the shared leading turns are the prompt.
            var chosenIsText = record.GetProperty("chosen").ValueKind == JsonValueKind.String;
            var rejectedIsText = record.GetProperty("rejected").ValueKind == JsonValueKind.String;
            var shared = 0;
            while (!chosenIsText && !rejectedIsText && shared < chosen!.Count - 1 && shared < rejected!.Count - 1 && chosen[shared] == rejected[shared])
            {
                shared++;
            }
            if (shared == 0)
            {
                errors.Add("missing \"prompt\" (without it, \"chosen\" and \"rejected\" must be message lists that start with the same prompt turns)");
                return null;
            }
            prompt = chosen!.Take(shared).ToList();
            chosen = chosen!.Skip(shared).ToList();
            rejected = rejected!.Skip(shared).ToList();
        }

        if (chosen!.SequenceEqual(rejected!))
        {
            errors.Add("\"chosen\" and \"rejected\" are identical");
            return null;
        }
        if (chosen![^1].Role != DatasetRoles.Assistant || rejected![^1].Role != DatasetRoles.Assistant)
        {
            errors.Add("\"chosen\" and \"rejected\" must end with an assistant message");
            return null;
        }
        return new PreferenceExample(index, line, prompt, chosen, rejected!);
    }

    private static PromptAnswerExample? PromptAnswer(JsonElement record, long index, int line, List<string> errors)
    {
        var count = errors.Count;
        var prompt = TextOrMessages(record, "prompt", DatasetRoles.User, required: true, errors);
        string? answer = null;
        var key = AnswerKeys.FirstOrDefault(k => Has(record, k));
        if (key is null)
        {
            errors.Add("missing \"answer\" (or \"reference\" / \"solution\")");
        }
        else
        {
            var value = record.GetProperty(key);
            answer = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            };
            if (answer is null) errors.Add($"\"{key}\" must be text or a number, not {KindName(value.ValueKind)}");
            else if (string.IsNullOrWhiteSpace(answer)) errors.Add($"\"{key}\" is empty");
        }
        if (errors.Count > count) return null;
        return new PromptAnswerExample(index, line, prompt!, answer!);
    }

    private static readonly Dictionary<string, string> ChatRoles = DatasetRoles.All.ToDictionary(r => r, r => r, StringComparer.Ordinal);

    private static readonly Dictionary<string, string> ShareGptRoles = new(StringComparer.Ordinal)
    {
        ["system"] = DatasetRoles.System,
        ["human"] = DatasetRoles.User,
        ["user"] = DatasetRoles.User,
        ["gpt"] = DatasetRoles.Assistant,
        ["assistant"] = DatasetRoles.Assistant,
        ["tool"] = DatasetRoles.Tool,
    };

    private static List<DatasetMessage>? Messages(JsonElement record, string name, string roleKey, string contentKey,
        Dictionary<string, string> roles, string allowedRoles, List<string> errors)
    {
        if (!record.TryGetProperty(name, out var array))
        {
            errors.Add($"missing \"{name}\"");
            return null;
        }
        return MessageList(array, name, roleKey, contentKey, roles, allowedRoles, errors);
    }

    private static List<DatasetMessage>? MessageList(JsonElement array, string name, string roleKey, string contentKey,
        Dictionary<string, string> roles, string allowedRoles, List<string> errors)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"\"{name}\" must be a list of {{{roleKey}, {contentKey}}} objects, not {KindName(array.ValueKind)}");
            return null;
        }
        if (array.GetArrayLength() == 0)
        {
            errors.Add($"\"{name}\" is empty");
            return null;
        }
        var count = errors.Count;
        var messages = new List<DatasetMessage>(array.GetArrayLength());
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"{name}[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{at} must be an object with \"{roleKey}\" and \"{contentKey}\", not {KindName(item.ValueKind)}");
                continue;
            }
            string? role = null;
            if (!item.TryGetProperty(roleKey, out var roleValue)) errors.Add($"{at} is missing \"{roleKey}\"");
            else if (roleValue.ValueKind != JsonValueKind.String || !roles.TryGetValue(roleValue.GetString()!, out role))
            {
                errors.Add($"{at}.{roleKey} must be one of {allowedRoles}");
            }
            string? content = null;
            if (!item.TryGetProperty(contentKey, out var contentValue)) errors.Add($"{at} is missing \"{contentKey}\"");
            else if (contentValue.ValueKind == JsonValueKind.Array && contentKey == "content")
            {
                content = TextParts(contentValue, $"{at}.{contentKey}", errors);
                if (content is not null && string.IsNullOrWhiteSpace(content)) errors.Add($"{at}.{contentKey} is empty");
            }
            else if (contentValue.ValueKind != JsonValueKind.String) errors.Add($"{at}.{contentKey} must be text, not {KindName(contentValue.ValueKind)}");
            else if (string.IsNullOrWhiteSpace(content = contentValue.GetString())) errors.Add($"{at}.{contentKey} is empty");
            if (role is not null && !string.IsNullOrWhiteSpace(content)) messages.Add(new DatasetMessage(role, content));
        }
        return errors.Count > count ? null : messages;
    }

    /// <summary>OpenAI-style content parts (<c>[{"type": "text", "text": "..."}]</c>) joined by new lines; only text parts are supported.</summary>
    private static string? TextParts(JsonElement parts, string at, List<string> errors)
    {
        var texts = new List<string>();
        var j = 0;
        foreach (var part in parts.EnumerateArray())
        {
            var partAt = $"{at}[{j++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{partAt} must be an object with \"type\" and \"text\"");
                return null;
            }
            if (type.GetString() != "text")
            {
                errors.Add($"{partAt} is a \"{type.GetString()}\" part; only text parts are supported");
                return null;
            }
            if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{partAt}.text must be text");
                return null;
            }
            texts.Add(text.GetString()!);
        }
        return string.Join("\n", texts);
    }

    /// <summary>Text (one message with <paramref name="textRole"/>) or a chat message list.</summary>
    private static List<DatasetMessage>? TextOrMessages(JsonElement record, string name, string textRole, bool required, List<string> errors)
    {
        if (!record.TryGetProperty(name, out var value) || (!required && value.ValueKind == JsonValueKind.Null))
        {
            if (required) errors.Add($"missing \"{name}\"");
            return null;
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (string.IsNullOrWhiteSpace(text))
                {
                    errors.Add($"\"{name}\" is empty");
                    return null;
                }
                return [new DatasetMessage(textRole, text)];
            case JsonValueKind.Array:
                return MessageList(value, name, "role", "content", ChatRoles, "system, user, assistant, tool", errors);
            default:
                errors.Add($"\"{name}\" must be text or a list of {{role, content}} messages, not {KindName(value.ValueKind)}");
                return null;
        }
    }

    private static string? RequiredText(JsonElement record, string name, List<string> errors)
    {
        if (!record.TryGetProperty(name, out var value))
        {
            errors.Add($"missing \"{name}\"");
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"\"{name}\" must be text, not {KindName(value.ValueKind)}");
            return null;
        }
        var text = value.GetString()!;
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add($"\"{name}\" is empty");
            return null;
        }
        return text;
    }

    private static string? OptionalText(JsonElement record, string name, List<string> errors)
    {
        if (!record.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"\"{name}\" must be text, not {KindName(value.ValueKind)}");
            return null;
        }
        return value.GetString();
    }

    private static bool Has(JsonElement record, string name) => record.TryGetProperty(name, out _);

    internal static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "text",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true/false",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
