using System.Text.Json.Nodes;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;

namespace DeepExtension.Tests.Support;

/// <summary>
/// Three SFT runs of tiny-qwen2 on one dataset version for the Compare page, without training: rows made by the real
/// run service (a recording scheduler, so no worker starts), states and outcomes set through the service as a worker
/// would, and metrics.jsonl written through <see cref="RunFiles"/> as the worker writes it.
/// They differ in epochs (1 / 2 / 2) and learning rate (1e-4 / 1e-4 / 5e-4) and nothing else (batch size 2 for all):
/// "base" Succeeded with its adapter registered, "longer" Cancelled, "hotter" still Running.
/// </summary>
public static class ComparedRunsFixture
{
    public const int PointsPerRun = 10;

    public sealed record Trio(TrainingRun Base, TrainingRun Longer, TrainingRun Hotter, string AdapterName)
    {
        public IReadOnlyList<TrainingRun> All => [Base, Longer, Hotter];
    }

    public static async Task<Trio> CreateAsync(TestEnvironment env)
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);

        async Task<TrainingRun> StartAsync(string name, int epochs, double learningRate)
        {
            var parameters = new JsonObject { ["num_epochs"] = epochs, ["batch_size"] = 2, ["learning_rate"] = learningRate, ["max_tokens"] = 64 };
            var started = await runs.StartAsync(new NewTrainRequest(name, model.Id, version.Id, method.Id, parameters, "cpu"));
            Assert.True(started.Succeeded, started.AllErrors);
            var run = started.Value!;
            Assert.True(await runs.MarkRunningAsync(run.Id));
            var files = runs.FilesOf(run);
            for (var step = 1; step <= PointsPerRun; step++) MetricsFile.Append(files, Point(step, learningRate, epochs));
            await runs.UpdateSummaryAsync(run.Id, RunSummary.Of(MetricsFile.ReadAll(files)));
            return run;
        }

        var baseRun = await StartAsync("base", 1, 1e-4);
        var longer = await StartAsync("longer", 2, 1e-4);
        var hotter = await StartAsync("hotter", 2, 5e-4);

        var finished = DateTime.UtcNow;
        var customized = await new CustomizedModelService(env.DbFactory, env.Directories, TimeProvider.System)
            .RegisterAsync(baseRun.Id, Path.Combine(ReferenceModels.BundledPathOf("tiny-qwen2"), "adapter"), finished);
        await runs.FinishAsync(baseRun.Id, WorkStatus.Succeeded, null, finishedAtUtc: finished);
        await runs.FinishAsync(longer.Id, WorkStatus.Cancelled, null);
        return new Trio((await runs.GetAsync(baseRun.Id))!, (await runs.GetAsync(longer.Id))!, (await runs.GetAsync(hotter.Id))!, customized.Name);
    }

    /// <summary>
    /// A logged step of 10 per epoch: loss falling faster with a higher learning rate (and 0.1 higher per extra epoch, so
    /// no two runs draw the same line), an evaluation loss every fifth step, the ETA of a second per step left.
    /// </summary>
    public static MetricPoint Point(long step, double learningRate, int epochs)
    {
        var values = new Dictionary<string, double>
        {
            ["loss"] = 2.0 / (1 + step * learningRate * 1e3) + 0.1 * (epochs - 1),
            ["learning_rate"] = learningRate,
            ["grad_norm"] = 1.0 + 0.1 * step * epochs,
            ["tokens_per_second"] = 800 + step + 20 * (epochs - 1) + learningRate * 1e5,
            ["eta_seconds"] = Math.Max(0, 10L * epochs - step),
        };
        if (step % 5 == 0) values["eval_loss"] = 2.2 / (1 + step * learningRate * 1e3) + 0.1 * (epochs - 1);
        return new MetricPoint(step, step / 10.0, step * 0.5, values) { TotalSteps = 10L * epochs };
    }

    /// <summary>Appends the next points of a run as its worker would.</summary>
    public static void AppendPoints(TestEnvironment env, TrainingRun run, long fromStep, int count, double learningRate, int epochs)
    {
        var files = new RunFiles(Path.Combine(env.DataRoot, run.RelativeDirectory));
        for (var step = fromStep; step < fromStep + count; step++) MetricsFile.Append(files, Point(step, learningRate, epochs));
    }
}
