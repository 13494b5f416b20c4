using DeepExtension.Core.Evaluations;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Controls;

/// <summary>"Evaluate" on a train, a customized or a complete model: asks what to compare on which data, then opens the evaluation.</summary>
public partial class EvaluateButton
{
    [Inject]
    public required EvaluationService Evaluations { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Parameter, EditorRequired]
    public EvaluatedModelKind Kind { get; set; }

    [Parameter, EditorRequired]
    public Guid ModelId { get; set; }

    private async Task EvaluateAsync()
    {
        var plan = await Evaluations.PlanAsync(Kind, ModelId);
        if (!plan.Succeeded)
        {
            Snackbar.Add(plan.AllErrors, Severity.Error);
            return;
        }
        if (plan.Value!.Data.Count == 0)
        {
            Snackbar.Add("No dataset to evaluate on: upload one on the Datasets page first.", Severity.Warning);
            return;
        }
        var parameters = new DialogParameters<EvaluateDialog> { { d => d.Plan, plan.Value } };
        var dialog = await Dialogs.ShowAsync<EvaluateDialog>(null, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is not { Canceled: false, Data: Evaluation evaluation }) return;
        Snackbar.Add($"Evaluating {evaluation.Name} in the background.", Severity.Info);
        Navigation.NavigateTo($"/evaluations/{evaluation.Id}");
    }
}
