using DeepExtension.Core.Training;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class TrainingMethods
{
    [Inject]
    public required TrainingMethodService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<TrainingMethod>? _methods;
    private readonly HashSet<Guid> _expanded = [];

    protected override async Task OnInitializedAsync() => await ReloadAsync();

    private async Task ReloadAsync() => _methods = await Service.ListAsync();

    private void Toggle(Guid id)
    {
        if (!_expanded.Remove(id)) _expanded.Add(id);
    }

    private async Task OpenFormAsync(TrainingMethod? existing, TrainingMethod? copyFrom)
    {
        var parameters = new DialogParameters<TrainingMethodDialog>
        {
            { d => d.Existing, existing },
            { d => d.CopyFrom, copyFrom },
        };
        var dialog = await Dialogs.ShowAsync<TrainingMethodDialog>(null, parameters,
            new DialogOptions { MaxWidth = MaxWidth.Large, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: TrainingMethod saved })
        {
            Snackbar.Add($"Method {saved.Name} saved.", Severity.Success);
            await ReloadAsync();
            _expanded.Add(saved.Id);
        }
    }

    private async Task DeleteAsync(TrainingMethod method)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Delete the method {method.Name}?",
            [$"The method {method.Name} and its defaults"],
            ["Trains already run with it keep every parameter they used", $"The built-in {method.Algorithm} method"]);
        if (!confirmed) return;
        var result = await Service.DeletePresetAsync(method.Id);
        if (!result.Succeeded)
        {
            Snackbar.Add(result.AllErrors, Severity.Error);
            return;
        }
        Snackbar.Add($"Method {method.Name} deleted.", Severity.Success);
        await ReloadAsync();
    }
}
