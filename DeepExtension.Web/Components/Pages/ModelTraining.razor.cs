using DeepExtension.Core.Datasets;
using DeepExtension.Core.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Web.Components.Pages;

public partial class ModelTraining
{
    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<TrainingRun>? _runs;
    private Dictionary<Guid, string> _datasetLabels = [];

    protected override async Task ReloadAsync()
    {
        var runs = await Runs.ListAsync(Stopping);
        if (_runs is null || runs.Any(r => !_datasetLabels.ContainsKey(r.DatasetVersionId)))
        {
            _datasetLabels = (await Datasets.ListAsync(Stopping))
                .SelectMany(d => d.Versions.Select(v => (v.Id, Label: $"{d.Name} v{v.VersionNumber}")))
                .ToDictionary(x => x.Id, x => x.Label);
        }
        _runs = runs;
    }

    private string DatasetLabel(Guid versionId) => _datasetLabels.TryGetValue(versionId, out var label) ? label : "—";

    private async Task CancelAsync(TrainingRun run)
    {
        var result = await Runs.CancelAsync(run.Id);
        Snackbar.Add(result.Succeeded ? $"Cancelling {run.Name}." : result.AllErrors, result.Succeeded ? Severity.Info : Severity.Error);
        await ReloadAsync();
    }

    private async Task ResumeAsync(TrainingRun run)
    {
        var result = await Runs.ResumeAsync(run.Id);
        Snackbar.Add(result.Succeeded ? $"{run.Name} queued to resume from its last checkpoint." : result.AllErrors,
            result.Succeeded ? Severity.Info : Severity.Error);
        await ReloadAsync();
    }

    internal static Color StatusColor(RunStatus status) => status switch
    {
        RunStatus.Queued => Color.Default,
        RunStatus.Running => Color.Info,
        RunStatus.Succeeded => Color.Success,
        RunStatus.Failed => Color.Error,
        _ => Color.Warning,
    };

    private static string Duration(TrainingRun run) => run.StartedAtUtc is { } started
        ? Format((run.FinishedAtUtc ?? DateTime.UtcNow) - started)
        : "—";

    internal static string Format(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes:00}m" : span.TotalMinutes >= 1 ? $"{span.Minutes}m {span.Seconds:00}s" : $"{span.Seconds}s";

    private static string Loss(double? loss) => loss is { } l && double.IsFinite(l) ? l.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "—";

}
