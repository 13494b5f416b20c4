using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Dialogs;

/// <summary>The Evaluate dialog: models (the first is the judge's baseline), data, decoding and the optional judge; errors keep it open.</summary>
public partial class EvaluateDialog
{
    [Inject]
    public required EvaluationService Evaluations { get; init; }

    [Inject]
    public required LlmJudge Judge { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [CascadingParameter]
    public required IMudDialogInstance Dialog { get; set; }

    [Parameter]
    public required EvaluationPlan Plan { get; set; }

    private readonly List<EvaluatedModel> _selected = [];
    private Guid _versionId;
    private DatasetPart _part = DatasetPart.Validation;
    private int _maxExamples = 100;
    private int _maxNewTokens = 128;
    private double _temperature;
    private double _topP = 1.0;
    private long _seed = 42;
    private Guid? _judgeId;
    private string _judgePrompt = LlmJudge.DefaultPrompt;
    private bool _busy;
    private bool _trying;
    private JudgeTrial? _trial;
    private string? _trialError;
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();

    protected override void OnInitialized()
    {
        _selected.AddRange(Plan.Selected);
        _versionId = Plan.DefaultVersionId ?? Guid.Empty;
        if (Plan.Data.FirstOrDefault(d => d.VersionId == _versionId) is { HasValidation: false }) _part = DatasetPart.All;
    }

    private void Toggle(EvaluatedModel model, bool on)
    {
        _selected.Remove(model);
        // Kept in the candidates' order, so the base (listed first) stays the baseline.
        if (on) _selected.Add(model);
        _selected.Sort((a, b) => IndexOf(a).CompareTo(IndexOf(b)));
    }

    private int IndexOf(EvaluatedModel model) => Plan.Candidates.ToList().IndexOf(model);

    private string? ErrorText(string field) => _errors.TryGetValue(field, out var messages) ? string.Join(" ", messages) : null;

    private async Task StartAsync()
    {
        _busy = true;
        try
        {
            var result = await Evaluations.StartAsync(new EvaluationRequest(
                _selected.Select(m => new ModelReference(m.Kind, m.Id)).ToList(), _versionId, _part, _maxExamples, _maxNewTokens,
                _temperature, _topP, _seed, Plan.RunId, _judgeId, _judgeId is null ? null : _judgePrompt));
            if (result.Succeeded)
            {
                Dialog.Close(DialogResult.Ok(result.Value!));
                return;
            }
            _errors = result.Errors;
        }
        finally
        {
            _busy = false;
        }
    }

    /// <summary>"Try the judge": one example of the chosen rows, judged with the prompt as it stands now.</summary>
    private async Task TryJudgeAsync()
    {
        if (_judgeId is not { } judgeId) return;
        _trying = true;
        _trial = null;
        _trialError = null;
        try
        {
            var missing = LlmJudge.Placeholders.Where(p => !_judgePrompt.Contains(p, StringComparison.Ordinal)).ToList();
            if (missing.Count > 0)
            {
                _trialError = $"The judge prompt must contain {string.Join(", ", missing)}.";
                return;
            }
            var version = await Datasets.GetVersionAsync(_versionId);
            var example = version is null ? null : await EvaluationPrompt.FirstAsync(Datasets, version, _part);
            if (example is null)
            {
                _trialError = "The chosen rows hold no example with a reference answer to try the judge on.";
                return;
            }
            _trial = await Judge.TryAsync(judgeId, _judgePrompt, example.Question, example.Reference);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _trialError = $"The judge could not be asked: {ex.Message}";
        }
        finally
        {
            _trying = false;
        }
    }

    private static Severity TrialSeverity(JudgeTrial trial) => trial.Choice switch
    {
        JudgeChoice.A => Severity.Success,
        JudgeChoice.Unparsed => Severity.Error,
        _ => Severity.Warning,
    };

    private static string TrialVerdictText(JudgeTrial trial) => trial.Choice switch
    {
        JudgeChoice.A => "Verdict read: [[A]], the reference, as expected.",
        JudgeChoice.B => "Verdict read: [[B]]: the judge preferred \"I don't know.\" to the reference; its verdicts may not mean much.",
        JudgeChoice.Tie => "Verdict read: [[C]] (a tie) between the reference and \"I don't know.\"; its verdicts may not mean much.",
        _ => "No verdict: the reply holds no [[A]], [[B]] or [[C]]. An evaluation with this judge and prompt would count such pairs as \"no verdict\"; "
             + "edit the prompt or choose another judge.",
    };

    private void Cancel() => Dialog.Cancel();
}
