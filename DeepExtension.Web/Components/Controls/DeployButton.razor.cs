using DeepExtension.Core.Deployment;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Controls;

/// <summary>"Deploy" on the Customized and Complete Models pages: checks the model can be deployed, asks for the environment, quantization and name, and opens Live Models.</summary>
public partial class DeployButton
{
    [Inject]
    public required DeploymentService Deployments { get; init; }

    [Inject]
    public required DeploymentEnvironmentService Environments { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Parameter, EditorRequired]
    public DeploymentSourceKind Kind { get; set; }

    [Parameter, EditorRequired]
    public Guid SourceId { get; set; }

    private async Task DeployAsync()
    {
        var plan = await Deployments.PlanAsync(Kind, SourceId);
        if (!plan.Succeeded)
        {
            Snackbar.Add(plan.AllErrors, Severity.Error, o => o.RequireInteraction = true);
            return;
        }
        var environments = await Environments.ListAsync();
        if (environments.Count == 0)
        {
            Snackbar.Add("No deployment environment is configured. Add your Ollama server on the Deployment Tools page first.", Severity.Warning, o => o.RequireInteraction = true);
            return;
        }
        var parameters = new DialogParameters<DeployModelDialog>
        {
            { d => d.Plan, plan.Value! },
            { d => d.Environments, environments },
        };
        var dialog = await Dialogs.ShowAsync<DeployModelDialog>(null, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is not { Canceled: false, Data: ModelDeployment deployment }) return;
        Snackbar.Add($"Deploying {deployment.OllamaModel} to {deployment.EnvironmentName} in the background.", Severity.Info);
        Navigation.NavigateTo("/live-models");
    }
}
