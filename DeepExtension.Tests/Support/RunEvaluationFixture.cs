using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Work;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Tests.Support;

/// <summary>
/// A succeeded evaluation of <see cref="ComparedRunsFixture"/>'s "base" run against its base model, without generating:
/// submitted through the real service (a recording queue, so no worker starts), then two examples scored by the real
/// scorers, aggregated, written and recorded as the worker does. The answers are chosen so the aggregates are easy to
/// check by hand: the customized model answers both references exactly (exact match, contains and numeric 100 %,
/// ROUGE-L and BLEU 1), the base answers neither; the reference losses (nats per token, 2 tokens each) are 0.5 and 1.0
/// for the customized model (mean 0.75, perplexity e^0.75 = 2.117) and 1.5 and 2.5 for the base (mean 2, perplexity 7.389).
/// </summary>
public static class RunEvaluationFixture
{
    /// <param name="judge">When given, the judge's pair for example i (the customized model against the base), as the worker records it.</param>
    public static async Task<Evaluation> EvaluateBaseRunAsync(TestEnvironment env, ComparedRunsFixture.Trio trio, Func<int, string, JudgedPair>? judge = null)
    {
        await using var db = await env.DbFactory.CreateDbContextAsync();
        var customized = await db.CustomizedModels.AsNoTracking().SingleAsync(m => m.TrainingRunId == trio.Base.Id);
        var service = new EvaluationService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var started = await service.StartAsync(new EvaluationRequest(
            [new ModelReference(EvaluatedModelKind.Base, customized.BaseModelId), new ModelReference(EvaluatedModelKind.Customized, customized.Id)],
            trio.Base.DatasetVersionId, DatasetPart.All, MaxExamples: 2, MaxNewTokens: 8, RunId: trio.Base.Id));
        Assert.True(started.Succeeded, started.AllErrors);
        var evaluation = started.Value!;
        var names = evaluation.Models.Select(m => m.Name).ToList();
        Assert.True(await new WorkStore(env.DbFactory, TimeProvider.System).StartAsync<Evaluation>(evaluation.Id));

        ModelAnswer Answer(string text, string reference, double loss) =>
            new(text, EvaluationScores.WordCount(text), true, EvaluationScores.All(text, reference), loss, 2);
        (string Question, string Reference, string Base, double BaseLoss, double CustomizedLoss)[] rows =
        [
            ("What is 2 plus 2?", "4", "5", 1.5, 0.5),
            ("What is 3 plus 4?", "The answer is 7", "nothing", 2.5, 1.0),
        ];
        var examples = rows.Select((r, i) => new EvaluationExample(i, [new DatasetMessage(DatasetRoles.User, r.Question)], r.Reference,
            new Dictionary<string, ModelAnswer>
            {
                [names[0]] = Answer(r.Base, r.Reference, r.BaseLoss),
                [names[1]] = Answer(r.Reference, r.Reference, r.CustomizedLoss),
            }, judge is null ? null : new Dictionary<string, JudgedPair> { [names[1]] = judge(i, names[0]) })).ToList();
        Directory.CreateDirectory(service.FolderOf(evaluation.Id));
        EvaluationResults.Write(service.ResultsPathOf(evaluation.Id), examples);
        await service.RecordAggregatesAsync(evaluation.Id, examples.Count, EvaluationResults.Aggregate(examples, names));
        await service.FinishAsync(evaluation.Id, WorkStatus.Succeeded, null);
        return (await service.GetAsync(evaluation.Id))!;
    }

    /// <summary>
    /// Registers an adapter for the trio's "longer" run too, then a succeeded evaluation of the base, the "base" run's
    /// and the "longer" run's customized models (started from the "base" run), every model answering both references exactly.
    /// </summary>
    public static async Task<(Evaluation Evaluation, string LongerAdapterName)> EvaluateTwoRunsAsync(TestEnvironment env, ComparedRunsFixture.Trio trio)
    {
        var customizedModels = new DeepExtension.Core.CustomizedModels.CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System);
        var longer = await customizedModels.RegisterAsync(trio.Longer.Id, Path.Combine(ReferenceModels.BundledPathOf("tiny-qwen2"), "adapter"), DateTime.UtcNow);
        var own = (await customizedModels.ListAsync()).Single(m => m.TrainingRunId == trio.Base.Id);
        var service = new EvaluationService(env.DbFactory, env.Directories, new RecordingScheduler(), TimeProvider.System);
        var started = await service.StartAsync(new EvaluationRequest(
            [new ModelReference(EvaluatedModelKind.Base, own.BaseModelId), new ModelReference(EvaluatedModelKind.Customized, own.Id),
                new ModelReference(EvaluatedModelKind.Customized, longer.Id)],
            trio.Base.DatasetVersionId, DatasetPart.All, MaxExamples: 1, MaxNewTokens: 8, RunId: trio.Base.Id));
        Assert.True(started.Succeeded, started.AllErrors);
        var evaluation = started.Value!;
        var names = evaluation.Models.Select(m => m.Name).ToList();
        Assert.True(await new WorkStore(env.DbFactory, TimeProvider.System).StartAsync<Evaluation>(evaluation.Id));
        var examples = new List<EvaluationExample>
        {
            new(0, [new DatasetMessage(DatasetRoles.User, "What is 2 plus 2?")], "4",
                names.ToDictionary(n => n, _ => new ModelAnswer("4", 1, true, EvaluationScores.All("4", "4"), 0.5, 1))),
        };
        EvaluationResults.Write(service.ResultsPathOf(evaluation.Id), examples);
        await service.RecordAggregatesAsync(evaluation.Id, examples.Count, EvaluationResults.Aggregate(examples, names));
        await service.FinishAsync(evaluation.Id, WorkStatus.Succeeded, null);
        return ((await service.GetAsync(evaluation.Id))!, longer.Name);
    }
}
