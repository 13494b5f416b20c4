using System.Text.Json.Nodes;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Runs;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Evaluations;

/// <summary>The real path on CPU: a tiny model trained briefly, then evaluated against its base by the Quartz job and the worker process.</summary>
[OuterTier("starts the scheduler host, which runs work in worker processes")]
[Collection(TrainingCollection.Name)]
public sealed class EvaluationEndToEndTests
{
    [Fact]
    public async Task Evaluation_TrainedAdapterAgainstItsBase_ScoresEveryValidationExampleInAWorker()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft, validationPercent: 20);
        await using var host = await TrainingHost.StartAsync(env);
        var parameters = new JsonObject
        {
            ["num_epochs"] = 6, ["batch_size"] = 4, ["learning_rate"] = 5e-3, ["warmup_ratio"] = 0.0, ["lr_scheduler"] = "constant",
            ["max_tokens"] = 64, ["lora_r"] = 8, ["lora_alpha"] = 16, ["lora_dropout"] = 0.0,
        };
        var run = (await host.Runs.StartAsync(new NewTrainRequest("plus-one", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;
        var trained = await host.WaitForAsync(run.Id, r => r.IsFinished, TimeSpan.FromMinutes(3));
        Assert.Equal(WorkStatus.Succeeded, trained.Status);
        var customized = (await host.CustomizedModels.FindByRunAsync(run.Id))!;
        var evaluations = host.Host.Services.GetRequiredService<EvaluationService>();

        var started = await evaluations.StartAsync(new EvaluationRequest(
            [new ModelReference(EvaluatedModelKind.Base, model.Id), new ModelReference(EvaluatedModelKind.Customized, customized.Id)],
            version.Id, DatasetPart.Validation, MaxNewTokens: 4, RunId: run.Id));
        Assert.True(started.Succeeded, started.AllErrors);
        var evaluation = await WaitAsync(evaluations, started.Value!.Id, TimeSpan.FromMinutes(3));

        var log = string.Join("\n", evaluations.LogOf(evaluation.Id).ReadAll().Select(l => l.Message));
        Assert.True(evaluation.Status == WorkStatus.Succeeded, $"{evaluation.FailureReason}\n{log}");
        Assert.Equal(1, evaluation.Progress);
        string[] names = [model.TechnicalName, customized.Name];
        Assert.Equal(names, evaluation.Models.Select(m => m.Name));

        // Every row of the validation split, in file order, with its prompt and reference.
        var expected = Enumerable.Range(0, 20).Where(i => DatasetSplit.IsValidation(i, 20, version.ContentSha256)).ToList();
        var results = evaluations.ReadResults(evaluation.Id);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(i => (long)i), results.Select(e => e.Index));
        Assert.Equal(expected.Count, evaluation.ExampleCount);
        foreach (var example in results)
        {
            Assert.Equal($"What is {example.Index} plus one?", example.Question);
            Assert.Equal($"{example.Index + 1}", example.Reference);
            Assert.Equal(names.Order(StringComparer.Ordinal), example.Answers.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, answer) in example.Answers)
            {
                Assert.InRange(answer.Tokens, 0, 4);
                Assert.Equal(EvaluationScores.All(answer.Text, example.Reference), answer.Scores);
                Assert.Equal(answer.Text.Trim() == example.Reference ? 1 : 0, answer.Scores[EvaluationScores.ExactMatch]);
                // The reference ("N") and the end of the assistant turn are scored.
                Assert.True(answer.ReferenceTokens >= 1, name);
                Assert.True(answer.Loss is > 0 and < 20, $"{name}: {answer.Loss}");
            }
        }

        var aggregates = evaluation.Aggregates;
        Assert.Equal(names, aggregates.Select(a => a.Model));
        foreach (var aggregate in aggregates)
        {
            var answers = results.Select(e => e.Answers[aggregate.Model]).ToList();
            foreach (var score in EvaluationScores.Names) Assert.Equal(answers.Average(a => a.Scores[score]), aggregate.Means[score], 12);
            var tokenWeighted = answers.Sum(a => a.Loss!.Value * a.ReferenceTokens) / answers.Sum(a => a.ReferenceTokens);
            Assert.Equal(tokenWeighted, aggregate.MeanLoss!.Value, 9);
            Assert.Equal(Math.Exp(tokenWeighted), aggregate.Perplexity!.Value, 9);
            Assert.Null(aggregate.Judge);
        }
        // Trained on the same pattern, the adapter finds the held-out references likelier than its base does.
        Assert.True(aggregates[1].MeanLoss < aggregates[0].MeanLoss, $"{aggregates[1].MeanLoss} vs base {aggregates[0].MeanLoss}");

        Assert.Contains(await evaluations.ForAsync(run.Id, null), e => e.Id == evaluation.Id);
        Assert.Contains(await evaluations.ForAsync(null, customized.Id), e => e.Id == evaluation.Id);
        var csv = EvaluationResults.ToCsv(results, names);
        Assert.StartsWith("index,model,question,reference,answer,tokens,stopped,loss,exact_match,contains_answer,numeric_match,rouge_l,bleu,answer_words,judge\n", csv);
        Assert.Contains($"\n{results[0].Index},{customized.Name},What is {results[0].Index} plus one?,{results[0].Reference},", csv);
    }

    private static async Task<Evaluation> WaitAsync(EvaluationService evaluations, Guid id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var evaluation = (await evaluations.GetAsync(id))!;
            if (evaluation.IsFinished) return evaluation;
            if (DateTime.UtcNow > deadline) Assert.Fail($"The evaluation stayed {evaluation.Status}.");
            await Task.Delay(200);
        }
    }
}
