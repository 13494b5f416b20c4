using DeepExtension.Core;
using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Runs;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepExtension.Jobs.Evaluations;

/// <summary>
/// <c>DeepExtension.Jobs evaluate --evaluation ID</c>: the worker process of one evaluation. Reads the prompts of the
/// dataset version's part, has each model answer them (one model loaded at a time) with the evaluation's decoding
/// settings, scores every answer (<see cref="EvaluationScores"/>) and the reference's loss, asks the judge when there is
/// one, writes evaluations/&lt;id&gt;/results.jsonl and stores the aggregates. Progress: generation is the first 90 %
/// (or 60 % with a judge).
/// </summary>
public static class EvaluateCommand
{
    public const string EvaluationOption = "--evaluation";

    /// <summary>Prompts answered in one batched generation: enough to keep a GPU busy, few enough that the longest
    /// answer of a batch (which every row waits for) does not dominate.</summary>
    public const int BatchSize = 8;

    public static async Task<int> RunAsync(string[] args)
    {
        var at = Array.IndexOf(args, EvaluationOption);
        if (at < 0 || at + 1 >= args.Length || !Guid.TryParse(args[at + 1], out var evaluationId))
        {
            await Console.Error.WriteLineAsync("usage: DeepExtension.Jobs evaluate --evaluation EVALUATION_ID");
            return WorkerExit.Usage;
        }
        var builder = Host.CreateApplicationBuilder(args.Where((_, i) => i != at && i != at + 1).ToArray());
        builder.Configuration[JobsHostingExtensions.SchedulerEnabledKey] = "false";
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        using var host = builder.Build();
        var services = host.Services;
        var evaluations = services.GetRequiredService<EvaluationService>();
        var evaluation = await evaluations.GetAsync(evaluationId);
        if (evaluation is null)
        {
            await Console.Error.WriteLineAsync($"Evaluation {evaluationId} does not exist.");
            return WorkerExit.Failed;
        }
        await using var ownership = await WorkerOwnership.TakeAsync(services, WorkKind.Evaluate, evaluationId, $"Evaluation {evaluationId}");
        if (ownership is null) return WorkerExit.LeaseLost;
        var log = evaluations.LogOf(evaluationId).WithLeaseToken(ownership.Lease.Token);
        // Stopped from outside (SIGTERM) or orphaned (the console that started it is gone): the evaluation runs again later.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ownership.ParentGone);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stopping.Cancel();
        });
        try
        {
            await RunAsync(services, evaluation, log, stopping.Token);
            return WorkerExit.Succeeded;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            log.Append(RunLogLevel.Warning, "Stopped from outside before the evaluation finished.");
            return WorkerExit.Stopped;
        }
        catch (Exception ex)
        {
            log.Append(RunLogLevel.Error, $"Evaluation failed: {ex.Message}");
            await Console.Error.WriteLineAsync($"Evaluation failed: {ex.Message}");
            return WorkerExit.Failed;
        }
    }

    private static async Task RunAsync(IServiceProvider services, Evaluation evaluation, Core.Work.WorkLog log, CancellationToken cancellationToken)
    {
        var evaluations = services.GetRequiredService<EvaluationService>();
        var datasets = services.GetRequiredService<DatasetService>();
        var baseModels = services.GetRequiredService<BaseModelService>();
        var customized = services.GetRequiredService<CustomizedModelService>();
        var complete = services.GetRequiredService<CompleteModelService>();

        var version = await datasets.GetVersionAsync(evaluation.DatasetVersionId, cancellationToken)
                      ?? throw new InvalidOperationException("The dataset version no longer exists.");
        var baseModel = await baseModels.GetAsync(evaluation.BaseModelId, cancellationToken)
                        ?? throw new InvalidOperationException("The base model is no longer registered.");
        var prompts = new List<EvaluationPrompt>();
        var skipped = 0;
        await foreach (var example in datasets.ReadAsync(version, evaluation.Part, cancellationToken))
        {
            if (EvaluationPrompt.Of(example) is { } prompt) prompts.Add(prompt);
            else skipped++;
            if (evaluation.MaxExamples > 0 && prompts.Count >= evaluation.MaxExamples) break;
        }
        if (prompts.Count == 0) throw new InvalidDataException($"The {evaluation.Part.ToString().ToLowerInvariant()} part of dataset version {version.VersionNumber} has no prompt with a reference answer.");
        var decoding = evaluation.Samples ? $"sampling (temperature {evaluation.Temperature}, top-p {evaluation.TopP}, seed {evaluation.Seed})" : "greedy";
        log.Append(RunLogLevel.Info, $"{prompts.Count} prompts from dataset version {version.VersionNumber} ({evaluation.Part.ToString().ToLowerInvariant()})"
            + (skipped > 0 ? $", {skipped} rows without an answer skipped" : "") + $"; {decoding}, at most {evaluation.MaxNewTokens} new tokens.");

        var models = evaluation.Models;
        var generationShare = evaluation.JudgeDeploymentId is null ? 0.9 : 0.6;
        var answers = models.ToDictionary(m => m.Name, _ => new GeneratedAnswer[prompts.Count], StringComparer.Ordinal);
        var lastReport = DateTime.MinValue;
        for (var m = 0; m < models.Count; m++)
        {
            var model = models[m];
            var (folder, adapter) = model.Kind switch
            {
                EvaluatedModelKind.Base => (baseModels.FolderOf(baseModel), (string?)null),
                EvaluatedModelKind.Customized => await customized.GetAsync(model.Id, cancellationToken) is { } c
                    ? (baseModels.FolderOf(baseModel), customized.FolderOf(c))
                    : throw new InvalidOperationException($"The customized model {model.Name} no longer exists."),
                _ => await complete.GetAsync(model.Id, cancellationToken) is { } c
                    ? (complete.FolderOf(c), null)
                    : throw new InvalidOperationException($"The complete model {model.Name} no longer exists."),
            };
            log.Append(RunLogLevel.Info, $"Answering with {model.Name} ({model.Kind.ToString().ToLowerInvariant()}).");
            Console.WriteLine($"answering with {model.Name}");
            using var generator = new AnswerGenerator(folder, adapter);
            for (var start = 0; start < prompts.Count; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = prompts.Skip(start).Take(BatchSize).ToList();
                // The same batches and seeds for every model, so sampled answers differ by the model, not by the draw.
                var batchAnswers = generator.Answer(batch, evaluation.MaxNewTokens, evaluation.Temperature, evaluation.TopP,
                    evaluation.Seed + start / BatchSize, cancellationToken);
                for (var i = 0; i < batch.Count; i++) answers[model.Name][start + i] = batchAnswers[i];
                var done = start + batch.Count;
                if (DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(1) || done == prompts.Count)
                {
                    lastReport = DateTime.UtcNow;
                    await evaluations.ReportProgressAsync(evaluation.Id, generationShare * (m * prompts.Count + done) / (models.Count * prompts.Count), cancellationToken);
                }
            }
        }

        var names = models.Select(m => m.Name).ToList();
        var examples = prompts.Select((p, i) => new EvaluationExample(p.Index, p.Prompt, p.Reference,
            names.ToDictionary(n => n, n =>
            {
                var a = answers[n][i];
                return new ModelAnswer(a.Text, a.Tokens, a.Stopped, EvaluationScores.All(a.Text, p.Reference), a.Loss, a.ReferenceTokens);
            }, StringComparer.Ordinal))).ToList();

        if (evaluation.JudgeDeploymentId is { } judge)
        {
            log.Append(RunLogLevel.Info, $"Judging {string.Join(", ", names.Skip(1))} against {names[0]} in both orders.");
            var judged = services.GetRequiredService<LlmJudge>();
            examples = await judged.JudgeAllAsync(judge, evaluation.JudgePrompt ?? LlmJudge.DefaultPrompt, examples, names,
                done => evaluations.ReportProgressAsync(evaluation.Id, generationShare + (0.9 - generationShare) * done / prompts.Count).GetAwaiter().GetResult(),
                cancellationToken);
        }

        EvaluationResults.Write(evaluations.ResultsPathOf(evaluation.Id), examples);
        var aggregates = EvaluationResults.Aggregate(examples, names);
        await evaluations.RecordAggregatesAsync(evaluation.Id, examples.Count, aggregates, cancellationToken);
        foreach (var aggregate in aggregates)
        {
            log.Append(RunLogLevel.Info, $"{aggregate.Model}: " + string.Join(", ", aggregate.Means.Select(s => $"{s.Key} {s.Value:0.####}"))
                + (aggregate.Perplexity is { } ppl ? $", perplexity {ppl:0.###}" : "")
                + (aggregate.Judge is { } j ? $", judge {j.Wins}/{j.Ties}/{j.Losses} (win/tie/loss) against {j.Opponent}, {j.NoVerdict} of {j.Total} pairs without a verdict" : ""));
        }
        Console.WriteLine($"wrote {examples.Count} examples");
    }
}
