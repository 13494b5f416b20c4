using System.Text.Json.Nodes;

namespace DeepExtension.Core.Training;

/// <summary>
/// A named preset of a training algorithm: the built-in SFT/DPO/GRPO/PPO, or a user's own with other defaults.
/// </summary>
public sealed class TrainingMethod
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string NameKey { get; set; } = "";
    public TrainingAlgorithm Algorithm { get; set; }
    public string Description { get; set; } = "";
    public bool IsBuiltIn { get; set; }
    /// <summary>JSON object of parameter values that replace the algorithm's defaults.</summary>
    public string DefaultsJson { get; set; } = "{}";
    public DateTime CreatedAtUtc { get; set; }
    /// <summary>Who created it (their email); null for rows from before accounts existed and for the system.</summary>
    public string? CreatedBy { get; set; }
    public DateTime UpdatedAtUtc { get; set; }

    public JsonObject Defaults => JsonNode.Parse(DefaultsJson)?.AsObject() ?? [];

    public AlgorithmDefinition Definition => AlgorithmCatalog.Get(Algorithm);

    /// <summary>Every parameter of the algorithm, with this method's own defaults applied.</summary>
    public JsonObject ResolvedDefaults()
    {
        var overrides = Defaults;
        var values = new JsonObject();
        foreach (var spec in Definition.Parameters)
        {
            values[spec.Key] = (overrides.TryGetPropertyValue(spec.Key, out var own) ? own : spec.Default)?.DeepClone();
        }
        return values;
    }

    public static string KeyOf(string name) => name.Trim().ToUpperInvariant();
}

/// <summary>What the method form submits.</summary>
public sealed record TrainingMethodInput(string Name, TrainingAlgorithm Algorithm, string? Description, JsonObject Defaults);
