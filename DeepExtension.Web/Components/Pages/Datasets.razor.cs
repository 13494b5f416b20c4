using DeepExtension.Web.Components.Controls;
using DeepExtension.Core.Datasets;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class Datasets
{
    private readonly TableColumns _columns = new("datasets",
        new TableColumn("kind", "Kind"),
        new TableColumn("size", "Size", ShownByDefault: false),
        new TableColumn("hash", "SHA-256"),
        new TableColumn("created", "Created", ShownByDefault: false));

    [Inject]
    public required DatasetService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<Dataset>? _datasets;
    private readonly HashSet<Guid> _expanded = [];

    protected override async Task OnInitializedAsync() => await ReloadAsync();

    private async Task ReloadAsync() => _datasets = await Service.ListAsync();

    private bool _addingSample;

    private async Task AddSampleAsync(SampleDataset sample)
    {
        _addingSample = true;
        try
        {
            var added = await Service.AddSampleAsync(sample.Key);
            Snackbar.Add(added.Succeeded ? added.Value!.Message : added.AllErrors, added.Succeeded ? Severity.Success : Severity.Error);
            await ReloadAsync();
        }
        finally
        {
            _addingSample = false;
        }
    }

    private void Toggle(Guid id)
    {
        if (!_expanded.Remove(id)) _expanded.Add(id);
    }

    private async Task UploadAsync(Guid? targetId)
    {
        var parameters = new DialogParameters<DatasetUploadDialog>
        {
            { d => d.Datasets, _datasets ?? [] },
            { d => d.TargetDatasetId, targetId },
        };
        var options = new DialogOptions { MaxWidth = MaxWidth.Large, FullWidth = true, CloseOnEscapeKey = true, BackdropClick = false };
        var dialog = await Dialogs.ShowAsync<DatasetUploadDialog>(null, parameters, options);
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: DatasetUploadResult uploaded })
        {
            Snackbar.Add(uploaded.Message, uploaded.IsNew ? Severity.Success : Severity.Info);
            await ReloadAsync();
        }
    }

    private async Task DeleteAsync(Dataset dataset)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Delete the dataset {dataset.Name}?",
            [$"Its {dataset.Versions.Count} version(s) and their stored files"],
            ["Your original files on your computer", "Trains already run on it, with their lineage"]);
        if (!confirmed) return;

        var result = await Service.DeleteAsync(dataset.Id);
        if (result.Succeeded) Snackbar.Add($"Dataset {dataset.Name} deleted.", Severity.Success);
        else Snackbar.Add(result.AllErrors, Severity.Warning);
        _expanded.Remove(dataset.Id);
        await ReloadAsync();
    }
}
