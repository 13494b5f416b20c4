using DeepExtension.Core.Deployment;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class DeploymentTools
{
    [Inject]
    public required DeploymentEnvironmentService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<DeploymentEnvironment>? _environments;
    private readonly Dictionary<Guid, ConnectionTestResult> _results = [];
    private readonly HashSet<Guid> _testing = [];

    protected override async Task OnInitializedAsync() => await ReloadAsync();

    private async Task ReloadAsync() => _environments = await Service.ListAsync();

    private Task AddAsync() => OpenFormAsync(null);

    private Task EditAsync(DeploymentEnvironment environment) => OpenFormAsync(environment);

    private async Task OpenFormAsync(DeploymentEnvironment? existing)
    {
        var parameters = new DialogParameters<DeploymentEnvironmentDialog> { { d => d.Existing, existing } };
        var dialog = await Dialogs.ShowAsync<DeploymentEnvironmentDialog>(null, parameters,
            new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: DeploymentEnvironment saved })
        {
            Snackbar.Add($"Environment {saved.Name} saved.", Severity.Success);
            _results.Remove(saved.Id);
            await ReloadAsync();
        }
    }

    private async Task TestAsync(DeploymentEnvironment environment)
    {
        _testing.Add(environment.Id);
        try
        {
            var result = await Service.TestConnectionAsync(environment.BaseUrl, environment.Id);
            _results[environment.Id] = result;
            if (!result.Reachable) Snackbar.Add(result.Error!, Severity.Error);
        }
        finally
        {
            _testing.Remove(environment.Id);
        }
    }

    private async Task DeleteAsync(DeploymentEnvironment environment)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Delete the environment {environment.Name}?",
            [$"The environment {environment.Name} ({environment.BaseUrl}) in DeepExtension"],
            ["Models already deployed on that Ollama server"]);
        if (!confirmed) return;
        await Service.DeleteAsync(environment.Id);
        _results.Remove(environment.Id);
        Snackbar.Add($"Environment {environment.Name} removed.", Severity.Success);
        await ReloadAsync();
    }
}
