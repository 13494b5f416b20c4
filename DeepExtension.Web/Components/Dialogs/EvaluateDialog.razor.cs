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

    private void Cancel() => Dialog.Cancel();
}
