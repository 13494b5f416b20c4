using DeepExtension.Core.Evaluations;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Work;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Evaluations;

/// <summary>
/// Executes one evaluation: runs <c>DeepExtension.Jobs evaluate --evaluation ID</c> in a worker process (a native crash
/// fails the evaluation, not the console) and ends it with the worker's outcome. Its log is evaluations/&lt;id&gt;/evaluate.log.jsonl.
/// </summary>
public sealed class EvaluationJob(WorkStore store, EvaluationService evaluations, WorkerLauncher launcher, ILogger<EvaluationJob> logger)
    : WorkJob<Evaluation>(store, logger)
{
    protected override async Task RunAsync(Evaluation evaluation, CancellationToken cancellationToken)
    {
        var id = evaluation.Id;
        var exit = await RunWorkerAsync(launcher, id, ["evaluate", EvaluateCommand.EvaluationOption, id.ToString()], evaluations.LogOf(id), cancellationToken);
        if (exit is null) return;
        if (exit.Interrupted)
        {
            await FailAsync(id, "The console stopped while the evaluation ran; evaluate again.");
            return;
        }
        if (exit.ExitCode == WorkerExit.Succeeded)
        {
            var stored = await Store.GetAsync<Evaluation>(id, CancellationToken.None);
            if (stored?.AggregatesJson is not null && File.Exists(evaluations.ResultsPathOf(id))) await SucceedAsync(id);
            else await FailAsync(id, WorkerExit.MissingOutput("results"));
            return;
        }
        await FailAsync(id, exit.FailureReason);
    }
}
