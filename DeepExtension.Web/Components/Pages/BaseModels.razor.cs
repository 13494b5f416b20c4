using DeepExtension.Web.Components.Controls;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.HubDownloads;
using DeepExtension.Core.Work;
using DeepExtension.Web.Components.Dialogs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class BaseModels
{
    protected override ChangedWork WatchedWork => ChangedWork.Downloads;

    private readonly TableColumns _columns = new("base-models",
        new TableColumn("path", "Path", ShownByDefault: false),
        new TableColumn("layers", "Layers"),
        new TableColumn("heads", "Heads / KV"),
        new TableColumn("hidden", "Hidden", ShownByDefault: false),
        new TableColumn("vocab", "Vocab"));

    [Inject]
    public required BaseModelService Service { get; init; }

    [Inject]
    public required HubDownloadService Downloads { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<BaseModel>? _models;
    private IReadOnlyList<HubDownload>? _downloads;
    private readonly HashSet<Guid> _expanded = [];

    /// <summary>The models and the downloads: a download that succeeds adds a model, so both reload on its changes.</summary>
    protected override async Task ReloadAsync()
    {
        _downloads = await Downloads.ListAsync(Stopping);
        _models = await Service.ListAsync(Stopping);
    }

    private static Color StatusColor(WorkStatus status) => status switch
    {
        WorkStatus.Succeeded => Color.Success,
        WorkStatus.Failed => Color.Error,
        WorkStatus.Running => Color.Primary,
        _ => Color.Default,
    };

    /// <summary>The Hub download that registered <paramref name="model"/>, if it came from the Hub.</summary>
    private HubDownload? DownloadOf(BaseModel model) =>
        _downloads?.FirstOrDefault(d => d.BaseModelId == model.Id && d.Status == WorkStatus.Succeeded);

    private async Task DownloadAsync()
    {
        var options = new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true };
        var dialog = await Dialogs.ShowAsync<HubDownloadDialog>("Download from the Hub", options);
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: HubDownload queued })
        {
            Snackbar.Add($"Downloading {queued.Repository} ({DisplayFormat.Size(queued.TotalBytes)}); it is registered when complete.", Severity.Info);
            await ReloadAsync();
        }
    }

    private async Task CancelDownloadAsync(HubDownload download)
    {
        var confirmed = await Dialogs.ConfirmAsync($"Cancel the download of {download.Repository}?",
            ["The files downloaded so far"], ["Base models already registered"], confirmText: "Cancel the download", keepText: "Keep downloading");
        if (!confirmed) return;
        var result = await Downloads.CancelAsync(download.Id);
        Snackbar.Add(result.Succeeded ? $"Download of {download.Repository} cancelled." : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Warning);
        await ReloadAsync();
    }

    private async Task RemoveDownloadAsync(HubDownload download)
    {
        var result = await Downloads.DeleteAsync(download.Id);
        if (!result.Succeeded) Snackbar.Add(result.AllErrors, Severity.Error);
        await ReloadAsync();
    }

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
