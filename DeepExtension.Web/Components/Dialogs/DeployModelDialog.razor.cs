using DeepExtension.Core.Deployment;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Dialogs;

/// <summary>Deploy parameters; submitting runs the checks (Ollama reachable, name free) and keeps the dialog open with the reasons if they fail.</summary>
public partial class DeployModelDialog
{
    [Inject]
    public required DeploymentService Deployments { get; init; }

    [CascadingParameter]
    public required IMudDialogInstance Dialog { get; set; }

    [Parameter]
    public required DeployPlan Plan { get; set; }

    [Parameter]
    public required IReadOnlyList<DeploymentEnvironment> Environments { get; set; }

    private Guid _environmentId;
    private string _quantization = OllamaQuantization.None;
    private string _name = "";
    private bool _nameEdited;
    private bool _busy;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();

    protected override void OnInitialized()
    {
        _environmentId = (Environments.FirstOrDefault(e => e.IsDefault) ?? Environments[0]).Id;
        _name = OllamaModelName.DefaultFor(Plan.SourceModelName, _quantization);
    }

    private void EnvironmentChanged(Guid id)
    {
        _environmentId = id;
        _errors = new Dictionary<string, string[]>();
    }

    private void QuantizationChanged(string quantization)
    {
        _quantization = quantization;
        // The suggested tag follows the quantization until the user types a name of their own.
        if (!_nameEdited) _name = OllamaModelName.DefaultFor(Plan.SourceModelName, quantization);
    }

    private void NameChanged(string name)
    {
        _name = name;
        _nameEdited = true;
    }

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var messages) ? string.Join(" ", messages) : null;

    private async Task DeployAsync()
    {
        _busy = true;
        _errors = new Dictionary<string, string[]>();
        try
        {
            var result = await Deployments.DeployAsync(new DeployRequest(Plan.SourceKind, Plan.SourceModelId, _environmentId, _name, _quantization));
            if (result.Succeeded)
            {
                Dialog.Close(DialogResult.Ok(result.Value!));
                return;
            }
            _errors = result.Errors;
        }
        finally
        {
            _busy = false;
        }
    }

    private void Cancel() => Dialog.Cancel();
}
