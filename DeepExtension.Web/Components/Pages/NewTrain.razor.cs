using System.Text.Json.Nodes;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Jobs.Engine.Runtime;
using DeepExtension.Jobs.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class NewTrain
{
    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required BaseModelService BaseModels { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required TrainingMethodService Methods { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Inject]
    public required TrainingDevices Devices { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    /// <summary>"Copy the Train": the run whose exact configuration pre-fills the form.</summary>
    [SupplyParameterFromQuery(Name = "copyFrom")]
    public Guid? CopyFrom { get; set; }

    private bool _loading = true;
    private bool _submitting;
    private IReadOnlyList<BaseModel> _baseModels = [];
    private IReadOnlyList<Dataset> _datasets = [];
    private IReadOnlyList<TrainingMethod> _methods = [];
    private TrainingRun? _copiedFrom;

    private string? _name;
    private Guid? _baseModelId;
    private Guid? _methodId;
    private Guid? _datasetVersionId;
    private string _device = "auto";
    /// <summary>Null until the worker answered (the form works meanwhile, with auto and cpu).</summary>
    private TrainingDevicesSnapshot? _devices;
    private JsonObject _values = [];
    /// <summary>Whether the user chose gradient checkpointing themselves; until then the form picks it from the estimate.</summary>
    private bool _checkpointingChosen;
    /// <summary>Why the form turned gradient checkpointing on, shown beside the estimate; null when it did not.</summary>
    private string? _checkpointingReason;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private IReadOnlyDictionary<string, string> _warnings = new Dictionary<string, string>();

    protected override async Task OnInitializedAsync()
    {
        _baseModels = await BaseModels.ListAsync();
        _datasets = await Datasets.ListAsync();
        _methods = await Methods.ListAsync();

        if (CopyFrom is { } sourceId && await Runs.GetAsync(sourceId) is { } source)
        {
            _copiedFrom = source;
            _name = source.Name + "-copy";
            _baseModelId = source.BaseModelId;
            _methodId = source.MethodId;
            _datasetVersionId = source.DatasetVersionId;
            _device = source.Device;
            _values = source.Parameters;
            _checkpointingChosen = true; // a copy keeps what the copied run did
        }
        else
        {
            _baseModelId = _baseModels.FirstOrDefault()?.Id;
            _methodId = _methods.FirstOrDefault(m => m.Definition.IsImplemented)?.Id;
            ResetParameters();
            _datasetVersionId = CompatibleVersions().FirstOrDefault().Version?.Id;
        }
        UpdateWarnings();
        _loading = false;
        _ = LoadDevicesAsync();
    }

    private async Task LoadDevicesAsync()
    {
        var snapshot = await Devices.GetAsync(CancellationToken.None);
        await InvokeAsync(() =>
        {
            _devices = snapshot;
            FitCheckpointing();
            StateHasChanged();
        });
    }

    private IReadOnlyList<GpuInfo> Gpus => _devices?.Report?.Gpus ?? [];

    /// <summary>auto and cpu always; each GPU of the training machine with its name and free memory; a copied run's device even when absent, marked.</summary>
    private IEnumerable<(string Value, string Label)> DeviceOptions()
    {
        yield return ("auto", Gpus.Count > 0 ? $"auto · {Gpus[0].Name}" : "auto · CPU (no GPU)");
        yield return ("cpu", "cpu");
        foreach (var gpu in Gpus)
        {
            yield return (DevicesReport.DeviceName(gpu), $"{DevicesReport.DeviceName(gpu)} · {gpu.Name} · {ByteSize.Format(gpu.FreeBytes)} free of {ByteSize.Format(gpu.TotalBytes)}");
        }
        if (_device is not ("auto" or "cpu") && !Gpus.Any(g => DevicesReport.DeviceName(g) == _device))
        {
            yield return (_device, _devices is null ? _device : $"{_device} (not found on the training machine)");
        }
    }

    private string DeviceHelp => Gpus.Count > 0
        ? "auto trains on the first GPU; cpu is far slower."
        : "auto trains on a GPU when the training machine has one, else on the CPU.";

    private TrainingMethod? SelectedMethod => _methods.FirstOrDefault(m => m.Id == _methodId);

    private BaseModel? SelectedBaseModel => _baseModels.FirstOrDefault(m => m.Id == _baseModelId);

    private IEnumerable<string> GeneralErrors => _errors.TryGetValue(OperationResult<TrainingRun>.General, out var m) ? m : [];

    private bool HasError(string field) => _errors.ContainsKey(field);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var m) ? string.Join(" ", m) : null;

    private string DatasetHelp => SelectedMethod is { } method
        ? $"{method.Definition.DisplayName} trains on {method.Definition.DatasetRequirement.ToLowerInvariant()}; other datasets are not listed."
        : "Choose a method first.";

    /// <summary>The latest version of each dataset the selected method can train on, plus older versions after them.</summary>
    private IEnumerable<(Dataset Dataset, DatasetVersion Version)> CompatibleVersions()
    {
        if (SelectedMethod is not { } method) yield break;
        var kind = TrainingRunService.RequiredKind(method.Algorithm);
        foreach (var dataset in _datasets)
        {
            foreach (var version in dataset.Versions.Where(v => v.Kind == kind).OrderByDescending(v => v.VersionNumber))
            {
                yield return (dataset, version);
            }
        }
    }

    private void BaseModelChanged(Guid? id)
    {
        _baseModelId = id;
        FitMaxTokens();
        FitCheckpointing();
        UpdateWarnings();
    }

    private string Device
    {
        get => _device;
        set
        {
            _device = value;
            FitCheckpointing();
        }
    }

    /// <summary>The GPU the run would train on (auto: the first), or null for the CPU.</summary>
    private GpuInfo? TargetGpu => _device switch
    {
        "cpu" => null,
        "auto" => Gpus.FirstOrDefault(),
        var name => Gpus.FirstOrDefault(g => DevicesReport.DeviceName(g) == name),
    };

    /// <summary>The estimated peak memory of the run as the form stands, or null when the model's card lacks the shape.</summary>
    private MemoryEstimate? Estimate(string? checkpointing = null)
    {
        if (SelectedBaseModel is not { } model || SelectedMethod is not { } method || ModelShape.Of(model.Card) is not { } shape) return null;
        var parameters = TrainingParameters.FromJson(_values, method.Algorithm);
        if (checkpointing is not null) parameters = parameters with { GradientCheckpointing = checkpointing };
        return MemoryEstimate.For(shape, parameters, gpu: TargetGpu is not null);
    }

    /// <summary>
    /// Until the user picks gradient checkpointing: off where the run fits the GPU's free memory without it, layer where
    /// only layer fits (the trade is time, about a third more per step, for memory).
    /// </summary>
    private void FitCheckpointing()
    {
        if (_checkpointingChosen || SelectedMethod is null || !_values.ContainsKey(TrainingParameters.Keys.GradientCheckpointing)) return;
        _checkpointingReason = null;
        var off = Estimate(TrainingParameters.Checkpointing.Off);
        var layer = Estimate(TrainingParameters.Checkpointing.Layer);
        var choice = TrainingParameters.Checkpointing.Off;
        if (TargetGpu is { FreeBytes: { } free } && off is not null && layer is not null && off.Total > free && layer.Total <= free)
        {
            choice = TrainingParameters.Checkpointing.Layer;
            _checkpointingReason = $"Gradient checkpointing set to layer: without it this run needs about {ByteSize.Format(off.Total)}, " +
                $"more than the {ByteSize.Format(free)} free; with it about {ByteSize.Format(layer.Total)}, at about a third more time per step.";
        }
        _values[TrainingParameters.Keys.GradientCheckpointing] = choice;
    }

    private void MethodChanged(Guid? id)
    {
        _methodId = id;
        ResetParameters();
        if (!CompatibleVersions().Any(v => v.Version.Id == _datasetVersionId))
        {
            _datasetVersionId = CompatibleVersions().FirstOrDefault().Version?.Id;
        }
        _errors = new Dictionary<string, string[]>();
        UpdateWarnings();
    }

    private void ResetParameters()
    {
        _values = SelectedMethod?.ResolvedDefaults() ?? [];
        FitMaxTokens();
        FitCheckpointing();
    }

    /// <summary>The method's default max tokens is lowered to what the chosen model can take.</summary>
    private void FitMaxTokens()
    {
        if (SelectedBaseModel?.Card.ContextLength is { } context && SelectedMethod is { } method
            && TrainingParameters.FromJson(_values, method.Algorithm).MaxTokens > context)
        {
            _values[TrainingParameters.Keys.MaxTokens] = context;
        }
    }

    private void ValuesChanged(JsonObject values)
    {
        var key = TrainingParameters.Keys.GradientCheckpointing;
        if (!JsonNode.DeepEquals(values[key], _values[key]))
        {
            _checkpointingChosen = true;
            _checkpointingReason = null;
        }
        _values = values;
        FitCheckpointing();
        UpdateWarnings();
    }

    private void UpdateWarnings()
    {
        // Max tokens is judged against the chosen model's context (a 256-token model cannot take the typical 512–4096).
        _warnings = SelectedMethod is { } method
            ? TrainingMethodService.Warnings(method.Algorithm, _values, SelectedBaseModel?.Card.ContextLength)
            : new Dictionary<string, string>();
    }

    private async Task RunAsync()
    {
        _submitting = true;
        try
        {
            var request = new NewTrainRequest(_name ?? "", _baseModelId ?? Guid.Empty, _datasetVersionId ?? Guid.Empty,
                _methodId ?? Guid.Empty, (JsonObject)_values.DeepClone(), _device);
            var result = await Runs.StartAsync(request);
            _errors = result.Errors;
            if (result.Succeeded)
            {
                Snackbar.Add($"Train {result.Value!.Name} queued.", Severity.Success);
                Navigation.NavigateTo("/model-training");
            }
        }
        finally
        {
            _submitting = false;
        }
    }
}
