using DeepExtension.Core.Common;
using DeepExtension.Web.Components.Dialogs;
using System.Globalization;
using DeepExtension.Core.CompleteModels;
using Microsoft.AspNetCore.Components;
using MudBlazor;

using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Web.Components.Pages;

public partial class CompleteModels
{
    private readonly TableColumns _columns = new("complete-models",
        new TableColumn("source", "Saved from"),
        new TableColumn("folder", "Folder", ShownByDefault: false),
        new TableColumn("created", "Created"));

    [Inject]
    public required CompleteModelService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<CompleteModel>? _models;
    private readonly LiveRows<CompleteModel> _rows = new(m => m.Id);
    private readonly HashSet<Guid> _expanded = [];

    protected override ChangedWork WatchedWork => ChangedWork.Saves | ChangedWork.Models;

    protected override async Task ReloadAsync()
    {
        _models = await Service.ListAsync(Stopping);
        _rows.Update(_models);
    }

    private void ToggleCard(Guid id)
    {
        if (!_expanded.Remove(id)) _expanded.Add(id);
    }

    private async Task DeleteAsync(CompleteModel model)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Delete the complete model {model.Name}?",
            [$"The folder {model.Path} ({ByteSize.Format(model.SizeBytes)}) on disk", "Its entry on this page"],
            [$"The customized model {model.CustomizedModelName}", "Deployments made from it (Live Models)"]);
        if (!confirmed) return;

        var result = await Service.DeleteAsync(model.Id);
        Snackbar.Add(result.Succeeded ? $"Complete model {model.Name} deleted." : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Error);
        _expanded.Remove(model.Id);
        await ReloadAsync();
    }

}
