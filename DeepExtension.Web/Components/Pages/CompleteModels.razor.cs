using System.Globalization;
using DeepExtension.Core.CompleteModels;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

public partial class CompleteModels : IDisposable
{
    /// <summary>Saves finish in another process; the list re-reads the database this often.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    [Inject]
    public required CompleteModelService Service { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<CompleteModel>? _models;
    private readonly HashSet<Guid> _expanded = [];
    private readonly CancellationTokenSource _stop = new();

    protected override async Task OnInitializedAsync()
    {
        await ReloadAsync();
        _ = RefreshLoopAsync();
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await InvokeAsync(async () =>
                {
                    await ReloadAsync();
                    StateHasChanged();
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReloadAsync() => _models = await Service.ListAsync(_stop.Token);

    private void ToggleCard(Guid id)
    {
        if (!_expanded.Remove(id)) _expanded.Add(id);
    }

    private async Task DeleteAsync(CompleteModel model)
    {
        var confirmed = await Dialogs.ShowMessageBoxAsync(
            "Delete complete model",
            $"Delete {model.Name}? Its folder {model.Path} is removed from disk.",
            yesText: "Delete", cancelText: "Cancel");
        if (confirmed != true) return;

        var result = await Service.DeleteAsync(model.Id);
        Snackbar.Add(result.Succeeded ? $"Complete model {model.Name} deleted." : result.AllErrors, result.Succeeded ? Severity.Success : Severity.Error);
        _expanded.Remove(model.Id);
        await ReloadAsync();
    }

    internal static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
