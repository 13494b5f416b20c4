using DeepExtension.Core.Common;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Web.Components.Controls;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace DeepExtension.Web.Components.Pages;

/// <summary>One evaluation: its settings, the aggregates per model side by side, and the example browser (filter, sort).</summary>
public partial class EvaluationDetails
{
    private const string DatasetOrder = "";
    private const string LossScore = "loss";
    private const int PageSize = 50;

    [Parameter]
    public Guid EvaluationId { get; set; }

    [Inject]
    public required EvaluationService Service { get; init; }

    [Inject]
    public required DatasetService Datasets { get; init; }

    [Inject]
    public required DeploymentService Deployments { get; init; }

    [Inject]
    public required TrainingRunService Runs { get; init; }

    private Evaluation? _evaluation;
    private bool _missing;
    private IReadOnlyList<EvaluationExample> _examples = [];
    private string _dataLabel = "";
    private string? _judgeName;
    private TrainingRun? _run;
    private bool _disagreementsOnly;
    private string _sort = DatasetOrder;
    private int _limit = PageSize;

    protected override ChangedWork WatchedWork => ChangedWork.Evaluations;

    protected override async Task ReloadAsync()
    {
        var evaluation = await Service.GetAsync(EvaluationId, Stopping);
        if (evaluation is null)
        {
            _missing = true;
            _evaluation = null;
            return;
        }
        if (_evaluation is null)
        {
            if (await Datasets.GetVersionAsync(evaluation.DatasetVersionId, Stopping) is { } version && await Datasets.GetAsync(version.DatasetId, Stopping) is { } dataset)
                _dataLabel = $"{dataset.Name} v{version.VersionNumber}";
            if (evaluation.JudgeDeploymentId is { } judge) _judgeName = (await Deployments.GetAsync(judge, Stopping))?.OllamaModel ?? "a removed deployment";
            if (evaluation.RunId is { } run) _run = await Runs.GetAsync(run, Stopping);
        }
        if (evaluation.Status == WorkStatus.Succeeded && (_examples.Count == 0 || _evaluation?.Status != WorkStatus.Succeeded))
            _examples = Service.ReadResults(evaluation.Id);
        _evaluation = evaluation;
    }

    private IReadOnlyList<string> ModelNames => _evaluation!.Models.Select(m => m.Name).ToList();

    private static IReadOnlyList<string> SortableScores =>
        [EvaluationScores.RougeL, EvaluationScores.Bleu, EvaluationScores.ExactMatch, EvaluationScores.ContainsAnswer, EvaluationScores.NumericMatch, LossScore, EvaluationScores.AnswerWords];

    private List<EvaluationExample> Shown
    {
        get
        {
            IEnumerable<EvaluationExample> shown = _examples;
            if (_disagreementsOnly) shown = shown.Where(e => e.Disagree);
            if (_sort != DatasetOrder) shown = shown.OrderByDescending(e => Spread(e, _sort)).ThenBy(e => e.Index);
            return shown.ToList();
        }
    }

    private static double Spread(EvaluationExample example, string score)
    {
        if (score != LossScore) return example.Spread(score);
        var losses = example.Answers.Values.Select(a => a.Loss).OfType<double>().ToList();
        return losses.Count < 2 ? 0 : losses.Max() - losses.Min();
    }

    private static string ScoreLabel(string score) => score switch
    {
        EvaluationScores.ExactMatch => "exact match",
        EvaluationScores.ContainsAnswer => "contains answer",
        EvaluationScores.NumericMatch => "numeric match",
        EvaluationScores.RougeL => "ROUGE-L",
        EvaluationScores.Bleu => "BLEU",
        EvaluationScores.AnswerWords => "answer words",
        LossScore => "reference loss",
        _ => score,
    };

    private static IEnumerable<(string Label, Func<ModelAggregate, string> Value)> AggregateRows =>
        EvaluationScoreRows.All.Select(r => (r.Label, r.Value));

    private static string AnswerFacts(ModelAnswer answer) => string.Join(" · ",
    [
        $"EM {DisplayFormat.Significant(answer.Scores.GetValueOrDefault(EvaluationScores.ExactMatch), 1)}",
        $"contains {DisplayFormat.Significant(answer.Scores.GetValueOrDefault(EvaluationScores.ContainsAnswer), 1)}",
        $"numeric {DisplayFormat.Significant(answer.Scores.GetValueOrDefault(EvaluationScores.NumericMatch), 1)}",
        $"ROUGE-L {DisplayFormat.Significant(answer.Scores.GetValueOrDefault(EvaluationScores.RougeL), 3)}",
        $"BLEU {DisplayFormat.Significant(answer.Scores.GetValueOrDefault(EvaluationScores.Bleu), 3)}",
        $"loss {DisplayFormat.Loss(answer.Loss)}",
        $"{DisplayFormat.Count(answer.Tokens)} tokens{(answer.Stopped ? "" : " (cut)")}",
    ]);

    private static Color VerdictColor(PairVerdict verdict) => verdict switch
    {
        PairVerdict.Win => Color.Success,
        PairVerdict.Loss => Color.Error,
        PairVerdict.NoVerdict => Color.Warning,
        _ => Color.Default,
    };

    private static string ChoiceText(JudgeChoice choice, bool candidateIsA) => choice switch
    {
        JudgeChoice.Tie => "tie",
        JudgeChoice.Unparsed => "no verdict",
        JudgeChoice.A => candidateIsA ? "this" : "the other",
        _ => candidateIsA ? "the other" : "this",
    };
}
