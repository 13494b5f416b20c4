using DeepExtension.Core.Work;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Common;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace DeepExtension.Web.Components.Pages;

/// <summary>The console's front page: running trains (live), recent results and deployments, and the next step.</summary>
public partial class Home
{
    private const int RecentCount = 5;

    [Inject]
    public required BaseModelService BaseModels { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required TrainingRunService Runs { get; init; }

    [Inject]
    public required CustomizedModelService CustomizedModels { get; init; }

    [Inject]
    public required CompleteModelService CompleteModels { get; init; }

    [Inject]
    public required DeploymentService Deployments { get; init; }

    [Inject]
    public required LiveRunStore Live { get; init; }

    private sealed record JourneyStep(int Number, string Key, string Title, string Href, string Status, string Hint, bool Done, bool Optional = false)
    {
        public bool IsNext { get; init; }
    }

    private bool _loaded;
    private int _baseModels;
    private int _datasets;
    private int _runs;
    private int _customized;
    private int _complete;
    private int _deployed;
    private IReadOnlyList<TrainingRun> _active = [];
    private IReadOnlyList<TrainingRun> _finished = [];
    private IReadOnlyList<ModelDeployment> _deployments = [];
    private RunningRunsWatch? _watch;

    protected override ChangedWork WatchedWork => ChangedWork.Trains | ChangedWork.Deployments | ChangedWork.Models | ChangedWork.Downloads;

    protected override async Task ReloadAsync()
    {
        var runs = await Runs.ListAsync(Stopping);
        _active = [.. runs.Where(r => !r.IsFinished).OrderBy(r => r.Status == WorkStatus.Queued).ThenBy(r => r.CreatedAtUtc)];
        _finished = [.. runs.Where(r => r.IsFinished).OrderByDescending(r => r.FinishedAtUtc ?? r.CreatedAtUtc).Take(RecentCount)];
        _runs = runs.Count;
        _watch ??= new RunningRunsWatch(Live, Runs, () => InvokeAsync(ApplyLiveSummaries));
        _watch.Watch(_active);
        _watch.Apply(_active);
        var deployments = await Deployments.ListAsync(Stopping);
        _deployments = [.. deployments.OrderByDescending(d => d.FinishedAtUtc ?? d.CreatedAtUtc).Take(RecentCount)];
        _deployed = deployments.Count(d => d.Status == WorkStatus.Succeeded);
        // Small tables; a Hub download registers a base model while the page is open.
        _baseModels = (await BaseModels.ListAsync(Stopping)).Count;
        _datasets = (await Datasets.ListAsync(Stopping)).Count;
        _customized = (await CustomizedModels.ListAsync(Stopping)).Count;
        _complete = (await CompleteModels.ListAsync(Stopping)).Count;
        _loaded = true;
    }

    /// <summary>Running trains show their progress as their points arrive.</summary>
    private void ApplyLiveSummaries()
    {
        _watch?.Apply(_active);
        StateHasChanged();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _watch?.Dispose();
        base.Dispose(disposing);
    }

    private List<JourneyStep> Journey()
    {
        List<JourneyStep> steps =
        [
            new(1, "base-models", "Base model", "/base-models", Count(_baseModels, "registered"),
                "use Download from the Hub on Base Models (e.g. Qwen/Qwen2.5-0.5B-Instruct), or register a Hugging Face model folder.", _baseModels > 0),
            new(2, "datasets", "Dataset", "/datasets", Count(_datasets, "added"),
                "add a sample dataset in one click (Add a sample on Datasets), or upload your own .jsonl, .json or .csv.", _datasets > 0),
            new(3, "train", "Train", _baseModels > 0 && _datasets > 0 ? "/model-training/new" : "/model-training", Count(_runs, "started"),
                "start a new train: pick the base model, the dataset and a method.", _runs > 0),
            new(4, "customized-models", "Customized model", "/customized-models", Count(_customized, "made"),
                "wait for a train to succeed: its adapter becomes a customized model.", _customized > 0),
            new(5, "complete-models", "Save (optional)", "/complete-models", Count(_complete, "saved"),
                "Save merges a customized model into a standalone complete model (optional: you can deploy the customized model directly).", _complete > 0, Optional: true),
            new(6, "live-models", "Deploy", "/live-models", Count(_deployed, "live"),
                "use Deploy on a customized or complete model to send it to Ollama, then chat with it on Live Models.", _deployed > 0),
        ];
        var next = steps.FindIndex(s => !s.Done && !s.Optional);
        if (next >= 0) steps[next] = steps[next] with { IsNext = true };
        return steps;
    }

    private static string Count(int count, string verb) => $"{DisplayFormat.Count(count)} {verb}";
}
