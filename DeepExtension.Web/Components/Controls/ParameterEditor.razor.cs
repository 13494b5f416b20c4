using System.Globalization;
using System.Text.Json.Nodes;
using DeepExtension.Core.Training;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class ParameterEditor
{
    [Parameter, EditorRequired]
    public required IReadOnlyList<ParameterSpec> Specs { get; set; }

    /// <summary>The values being edited, keyed by parameter key; changed in place.</summary>
    [Parameter, EditorRequired]
    public required JsonObject Values { get; set; }

    [Parameter]
    public EventCallback<JsonObject> ValuesChanged { get; set; }

    /// <summary>Messages keyed by parameter key, as TrainingMethodService.ValidateValues returns them.</summary>
    [Parameter]
    public IReadOnlyDictionary<string, string[]> Errors { get; set; } = new Dictionary<string, string[]>();

    /// <summary>Out-of-typical-range hints keyed by parameter key.</summary>
    [Parameter]
    public IReadOnlyDictionary<string, string> Warnings { get; set; } = new Dictionary<string, string>();

    private bool HasError(string key) => Errors.ContainsKey(key);

    private string? ErrorText(string key) => Errors.TryGetValue(key, out var m) ? string.Join(" ", m) : null;

    private string HelperFor(ParameterSpec spec) =>
        Warnings.TryGetValue(spec.Key, out var warning) ? "⚠ " + warning : spec.Help;

    private JsonNode? ValueOf(ParameterSpec spec) => Values.TryGetPropertyValue(spec.Key, out var v) ? v : null;

    private long? IntegerOf(ParameterSpec spec) =>
        ValueOf(spec) is JsonValue v && ParameterSpec.TryGetNumber(v, out var n) ? (long)n : null;

    private string? NumberTextOf(ParameterSpec spec) => ValueOf(spec) switch
    {
        JsonValue v when ParameterSpec.TryGetNumber(v, out var n) => n.ToString("R", CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<string>(out var text) => text,
        _ => null,
    };

    private bool BooleanOf(ParameterSpec spec) => ValueOf(spec) is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private string? TextOf(ParameterSpec spec) => ValueOf(spec) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private IReadOnlyCollection<string> ListOf(ParameterSpec spec) =>
        ValueOf(spec) is JsonArray list ? list.Select(e => e?.GetValue<string>() ?? "").ToList() : [];

    private Task SetInteger(ParameterSpec spec, long? value) => Set(spec, value is null ? null : JsonValue.Create(value.Value));

    /// <summary>Unparseable text is kept as text, so validation reports it instead of the field silently reverting.</summary>
    private Task SetNumber(ParameterSpec spec, string? text) =>
        Set(spec, double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : string.IsNullOrWhiteSpace(text) ? null : JsonValue.Create(text));

    private Task SetList(ParameterSpec spec, IEnumerable<string>? values) =>
        Set(spec, new JsonArray([.. (values ?? []).OrderBy(v => spec.Choices.ToList().IndexOf(v)).Select(v => (JsonNode)JsonValue.Create(v))]));

    private async Task Set(ParameterSpec spec, JsonNode? value)
    {
        Values[spec.Key] = value;
        await ValuesChanged.InvokeAsync(Values);
    }
}
