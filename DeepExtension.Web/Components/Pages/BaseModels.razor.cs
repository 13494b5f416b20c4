using DeepExtension.Web.Components.Controls;
using DeepExtension.Core.BaseModels;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class BaseModels
{
    private readonly TableColumns _columns = new("base-models",
        new TableColumn("path", "Path", ShownByDefault: false),
        new TableColumn("layers", "Layers"),
        new TableColumn("heads", "Heads / KV"),
        new TableColumn("hidden", "Hidden", ShownByDefault: false),
        new TableColumn("vocab", "Vocab"));

    [Inject]
    public required BaseModelService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<BaseModel>? _models;
    private readonly HashSet<Guid> _expanded = [];

    protected override async Task OnInitializedAsync() => await ReloadAsync();

    private async Task ReloadAsync() => _models = await Service.ListAsync();

    private void ToggleCard(Guid id)
    {
        if (!_expanded.Remove(id)) _expanded.Add(id);
    }

    private Task AddAsync() => OpenFormAsync(null);

    private Task EditAsync(BaseModel model) => OpenFormAsync(model);

    private async Task OpenFormAsync(BaseModel? existing)
    {
        var parameters = new DialogParameters<BaseModelDialog> { { d => d.Existing, existing } };
        var options = new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true };
        var dialog = await Dialogs.ShowAsync<BaseModelDialog>(null, parameters, options);
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: BaseModel saved })
        {
            Snackbar.Add($"Base model {saved.TechnicalName} saved.", Severity.Success);
            await ReloadAsync();
        }
    }

    private async Task DeleteAsync(BaseModel model)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Delete the base model {model.TechnicalName}?",
            [$"The entry {model.TechnicalName} ({model.ModelName}) in DeepExtension"],
            [$"The model's files under {model.RelativePath}", "Trains, customized and complete models made from it"]);
        if (!confirmed) return;

        var result = await Service.DeleteAsync(model.Id);
        if (!result.Succeeded)
        {
            Snackbar.Add(result.AllErrors, Severity.Error);
            return;
        }
        Snackbar.Add(result.Value ? $"Base model {model.TechnicalName} removed." : $"Base model {model.TechnicalName} was already removed.",
            result.Value ? Severity.Success : Severity.Warning);
        _expanded.Remove(model.Id);
        await ReloadAsync();
    }
}
