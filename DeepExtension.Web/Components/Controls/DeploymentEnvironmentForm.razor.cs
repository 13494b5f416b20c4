using System.Data.Common;
using DeepExtension.Core.Common;
using DeepExtension.Core.Deployment;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Controls;

public partial class DeploymentEnvironmentForm
{
    [Inject]
    public required DeploymentEnvironmentService Service { get; init; }

    [Parameter]
    public DeploymentEnvironment? Existing { get; set; }

    [Parameter]
    public EventCallback<DeploymentEnvironment> OnSaved { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    private string? _name;
    private string? _baseUrl;
    private bool _isDefault;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private string? _generalError;
    private ConnectionTestResult? _test;
    private bool _busy;

    protected override void OnInitialized()
    {
        _name = Existing?.Name;
        _baseUrl = Existing?.BaseUrl ?? "http://localhost:11434";
        _isDefault = Existing?.IsDefault ?? false;
    }

    private bool HasError(string field) => _errors.ContainsKey(field);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var m) ? string.Join(" ", m) : null;

    private async Task TestAsync()
    {
        _busy = true;
        try
        {
            _test = await Service.TestConnectionAsync(_baseUrl ?? "", Existing?.Id);
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task SaveAsync()
    {
        _busy = true;
        try
        {
            var input = new DeploymentEnvironmentInput(_name ?? "", _baseUrl ?? "", _isDefault);
            var result = Existing is null ? await Service.CreateAsync(input) : await Service.UpdateAsync(Existing.Id, input);
            _errors = result.Errors;
            _generalError = result.ErrorsFor(OperationResult<DeploymentEnvironment>.General).FirstOrDefault();
            if (result.Succeeded) await OnSaved.InvokeAsync(result.Value);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            // The database out of reach (not a refused save, which the service words itself): say so, keep the circuit.
            _generalError = DeepExtension.Core.Data.DatabaseErrors.Refused(ex);
        }
        finally
        {
            _busy = false;
        }
    }
}
