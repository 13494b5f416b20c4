using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepExtension.Core.Runs;

public enum RunLogLevel
{
    Debug,
    Info,
    Warning,
    Error,
}

/// <summary>One line of a run's log: {"t":"2026-11-22T17:00:00.123Z","level":"info","msg":"...","lease_token":..}.</summary>
public sealed record LogLine(
    [property: JsonPropertyName("t")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("level")] RunLogLevel Level,
    [property: JsonPropertyName("msg")] string Message)
{
    /// <summary>The fencing token of the lease the line was written under (see <see cref="Work.LeaseFence"/>); null on lines
    /// of earlier versions and of writers that hold no lease.</summary>
    [JsonPropertyName(Work.LeaseFence.Property)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? LeaseToken { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public string ToJsonLine() => JsonSerializer.Serialize(this, Json);

    public static LogLine? ParseJsonLine(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<LogLine>(line, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The plain-text form used for downloads: "2026-11-22 17:00:00.123 INFO message".</summary>
    public string ToText() => $"{Timestamp.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} {Level.ToString().ToUpperInvariant(),-7} {Message}";
}
