using System.Text.Json.Nodes;
using DeepExtension.Core.Common;
using DeepExtension.Core.Training;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class TrainingMethodForm
{
    [Inject]
    public required TrainingMethodService Service { get; init; }

    /// <summary>The custom method being edited; null when creating.</summary>
    [Parameter]
    public TrainingMethod? Existing { get; set; }

    /// <summary>When creating: the method whose algorithm and defaults the new one starts from.</summary>
    [Parameter]
    public TrainingMethod? CopyFrom { get; set; }

    [Parameter]
    public EventCallback<TrainingMethod> OnSaved { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    private string? _name;
    private string? _description;
    private TrainingAlgorithm _algorithm = TrainingAlgorithm.Sft;
    private JsonObject _values = [];
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private IReadOnlyDictionary<string, string> _warnings = new Dictionary<string, string>();
    private bool _saving;

    protected override void OnInitialized()
    {
        var source = Existing ?? CopyFrom;
        _algorithm = source?.Algorithm ?? TrainingAlgorithm.Sft;
        _values = source?.ResolvedDefaults() ?? AlgorithmDefaults(_algorithm);
        _name = Existing?.Name ?? (CopyFrom is null ? null : $"{CopyFrom.Name} (custom)");
        _description = Existing?.Description ?? CopyFrom?.Description;
        _warnings = TrainingMethodService.Warnings(_algorithm, _values);
    }

    private IEnumerable<string> GeneralErrors => _errors.TryGetValue(OperationResult<TrainingMethod>.General, out var m) ? m : [];

    private bool HasError(string field) => _errors.ContainsKey(field);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var m) ? string.Join(" ", m) : null;

    private static JsonObject AlgorithmDefaults(TrainingAlgorithm algorithm) =>
        new TrainingMethod { Name = "", Algorithm = algorithm }.ResolvedDefaults();

    private void ChangeAlgorithm(TrainingAlgorithm algorithm)
    {
        _algorithm = algorithm;
        _values = AlgorithmDefaults(algorithm);
        _errors = new Dictionary<string, string[]>();
        _warnings = TrainingMethodService.Warnings(_algorithm, _values);
    }

    private void ValuesChanged(JsonObject values)
    {
        _values = values;
        _warnings = TrainingMethodService.Warnings(_algorithm, _values);
    }

    private async Task SaveAsync()
    {
        _saving = true;
        try
        {
            var input = new TrainingMethodInput(_name ?? "", _algorithm, _description, (JsonObject)_values.DeepClone());
            var result = Existing is null
                ? await Service.CreatePresetAsync(input)
                : await Service.UpdatePresetAsync(Existing.Id, input);
            _errors = result.Errors;
            if (result.Succeeded) await OnSaved.InvokeAsync(result.Value);
        }
        finally
        {
            _saving = false;
        }
    }
}
