using DeepExtension.Core.Common;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Work;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Web.Components.Pages;

public partial class CustomizedModels
{
    private readonly TableColumns _columns = new("customized-models",
        new TableColumn("base-model", "Base model"),
        new TableColumn("train", "Train"),
        new TableColumn("created", "Created"));

    [Inject]
    public required CustomizedModelService Service { get; init; }

    [Inject]
    public required CompleteModelService CompleteModels { get; init; }

    [Inject]
    public required BaseModelService BaseModels { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<CustomizedModel>? _models;
    private readonly LiveRows<CustomizedModel> _rows = new(m => m.Id);
    private IReadOnlyList<ModelSave> _saves = [];
    private Dictionary<Guid, string> _baseModels = [];
    private readonly HashSet<Guid> _expanded = [];

    protected override ChangedWork WatchedWork => ChangedWork.Saves | ChangedWork.Models;

    protected override async Task ReloadAsync()
    {
        var models = await Service.ListAsync(Stopping);
        if (_models is null || models.Any(m => !_baseModels.ContainsKey(m.BaseModelId)))
        {
            _baseModels = (await BaseModels.ListAsync(Stopping)).ToDictionary(m => m.Id, m => m.TechnicalName);
        }
        _saves = await CompleteModels.ListSavesAsync(Stopping);
        _models = models;
        _rows.Update(models);
    }

    private string BaseModelLabel(Guid id) => _baseModels.TryGetValue(id, out var name) ? name : "—";

    private IEnumerable<ModelSave> SavesOf(Guid customizedModelId) => _saves.Where(s => s.CustomizedModelId == customizedModelId);

    private void ToggleCard(Guid id)
    {
        if (!_expanded.Remove(id)) _expanded.Add(id);
    }

    private async Task SaveAsync(CustomizedModel model)
    {
        var plan = await CompleteModels.PlanSaveAsync(model.Id);
        if (!plan.Succeeded)
        {
            Snackbar.Add(plan.AllErrors, Severity.Error);
            await ReloadAsync();
            return;
        }
        var parameters = new DialogParameters<SaveModelDialog> { { d => d.Plan, plan.Value! } };
        var dialog = await Dialogs.ShowAsync<SaveModelDialog>(null, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is not { Canceled: false, Data: SavePlan confirmed }) return;

        var saved = await CompleteModels.SaveAsync(confirmed);
        Snackbar.Add(saved.Succeeded ? $"Saving {confirmed.OutputName} in the background." : saved.AllErrors, saved.Succeeded ? Severity.Info : Severity.Error);
        await ReloadAsync();
    }

    private async Task DeleteAsync(CustomizedModel model)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Delete the customized model {model.Name}?",
            [$"The adapter files under {model.AdapterPath}", "Its entry on this page"],
            [$"The train {model.TrainName} and its log and charts", "Complete models saved from it", "Deployments made from it (Live Models)"]);
        if (!confirmed) return;

        var result = await Service.DeleteAsync(model.Id);
        Snackbar.Add(result.Succeeded ? $"Customized model {model.Name} deleted." : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Error);
        _expanded.Remove(model.Id);
        await ReloadAsync();
    }

    internal static Color StatusColor(WorkStatus status) => status switch
    {
        WorkStatus.Queued => Color.Default,
        WorkStatus.Running => Color.Info,
        WorkStatus.Succeeded => Color.Success,
        _ => Color.Error,
    };

}
