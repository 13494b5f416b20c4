using DeepExtension.Core.Common;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Core;

/// <summary>Run summaries, metric lines, series reduction, the live store and the work-change notifier.</summary>
public sealed class LiveDataTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("deepx-live-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static MetricPoint Train(long step, double loss, double? eta = null) =>
        new(step, step / 10.0, step, eta is { } e
            ? new Dictionary<string, double> { ["loss"] = loss, ["tokens_per_second"] = 100 * step, ["eta_seconds"] = e }
            : new Dictionary<string, double> { ["loss"] = loss, ["tokens_per_second"] = 100 * step }) { TotalSteps = 20 };

    private static MetricPoint Eval(long step, double evalLoss) =>
        new(step, step / 10.0, step, new Dictionary<string, double> { ["eval_loss"] = evalLoss }) { TotalSteps = 20 };

    [Fact]
    public void RunSummary_LastPointIsAnEvaluation_KeepsTheLastStepsLossAndEta()
    {
        var summary = RunSummary.Of([Train(1, 3), Train(2, 1.5, eta: 18), Eval(2, 2.5), Train(3, 2, eta: 17), Eval(3, 2.0)]);

        Assert.Equal(3, summary.Step);
        Assert.Equal(20, summary.TotalSteps);
        Assert.Equal(2, summary.LastLoss);
        Assert.Equal(1.5, summary.BestLoss);
        Assert.Equal(2.0, summary.LastEvalLoss);
        Assert.Equal(2.0, summary.BestEvalLoss);
        Assert.Equal(17, summary.EtaSeconds);
        Assert.Equal(300, summary.TokensPerSecond);
        Assert.Equal(200, summary.MeanTokensPerSecond);
        Assert.Equal(5, summary.Points);
    }

    [Fact]
    public void RunSummary_LastLossDiverged_HasNoLastLossButKeepsTheBest()
    {
        var summary = RunSummary.Of([Train(1, 3), Train(2, double.NaN)]);

        Assert.Null(summary.LastLoss);
        Assert.Equal(3, summary.BestLoss);
    }

    [Fact]
    public void TrainingRunServiceApply_RowOfAnOlderFileWithoutTotals_KeepsTheRowsTotal()
    {
        var run = new TrainingRun { Name = "r", BaseModelTechnicalName = "m", MethodName = "SFT", TotalSteps = 40, LastLoss = 9 };
        var old = new MetricPoint(5, 0.5, 1, new Dictionary<string, double> { ["loss"] = 1.25 });

        TrainingRunService.Apply(run, RunSummary.Of([old]));

        Assert.Equal((5L, 40L, 1.25), (run.Step, run.TotalSteps, run.LastLoss!.Value));
    }

    [Fact]
    public void MetricPoint_LineWithTotalSteps_RoundTripsAndAnOlderLineWithoutItStillParses()
    {
        var point = Train(7, 0.5, eta: 13);

        var parsed = MetricPoint.ParseJsonLine(point.ToJsonLine())!;
        var old = MetricPoint.ParseJsonLine("""{"step":3,"epoch":0.3,"elapsed":1.5,"loss":2.5,"eta_seconds":4}""")!;

        Assert.Contains("\"total_steps\":20", point.ToJsonLine());
        Assert.Equal((7L, 20L, 0.5, 13.0), (parsed.Step, parsed.TotalSteps!.Value, parsed["loss"]!.Value, parsed["eta_seconds"]!.Value));
        Assert.False(parsed.Values.ContainsKey("total_steps"));
        Assert.Null(old.TotalSteps);
        Assert.Equal((3L, 0.3, 1.5, 2.5), (old.Step, old.Epoch, old.ElapsedSeconds, old["loss"]!.Value));
        Assert.True(double.IsNaN(MetricPoint.ParseJsonLine("""{"step":4,"loss":null}""")!["loss"]!.Value));
        Assert.Null(MetricPoint.ParseJsonLine("""{"epoch":1}"""));
        Assert.Null(MetricPoint.ParseJsonLine("not json"));
    }

    /// <summary>100k points of a slowly falling loss with a spike every 5,000 steps and a gap every 20,000.</summary>
    private static List<MetricPoint> LongHistory(int count = 100_000) => Enumerable.Range(1, count).Select(i =>
    {
        var y = 2.5 * Math.Exp(-i / 30000.0) + 0.3 + 0.05 * Math.Sin(i);
        if (i % 5000 == 0) y += 3;
        if (i % 20000 == 7) y = double.NaN;
        return new MetricPoint(i, i / 10000.0, i * 0.4, new Dictionary<string, double> { ["loss"] = y });
    }).ToList();

    [Fact]
    public void MetricSeriesProject_HundredThousandPoints_SendsAtMostMaxPointsKeepsEndsOrderAndEverySpike()
    {
        var history = LongHistory();

        var slice = MetricSeries.Project(history, "loss", MetricAxis.Step, alpha: 0);

        Assert.True(slice.Points.Count <= MetricSeries.MaxPoints, $"{slice.Points.Count} points");
        Assert.True(slice.Reduced);
        Assert.Equal(100_000, slice.Total);
        Assert.Equal(1, slice.Points[0][0]);
        Assert.Equal(100_000, slice.Points[^1][0]);
        Assert.True(slice.Points.Zip(slice.Points.Skip(1)).All(p => p.First[0] < p.Second[0]), "x must ascend");
        for (var spike = 5000; spike <= 100_000; spike += 5000)
        {
            Assert.Contains(slice.Points, p => p[0] == spike);
        }
        Assert.Equal(history.Select(p => p["loss"]!.Value).Where(double.IsFinite).Max(), slice.Points.Max(p => p[1] ?? double.MinValue));
    }

    [Fact]
    public void MetricSeriesProject_BudgetOfAChartWidth_StaysWithinItAndKeepsEverySpike()
    {
        var history = LongHistory();

        var slice = MetricSeries.Project(history, "loss", MetricAxis.Step, alpha: 0, maxPoints: 600);

        Assert.True(slice.Points.Count <= 600, $"{slice.Points.Count} points");
        Assert.True(slice.Points.Count >= 590, $"{slice.Points.Count} points: the budget should be used");
        for (var spike = 5000; spike <= 100_000; spike += 5000)
        {
            Assert.Contains(slice.Points, p => p[0] == spike);
        }
    }

    [Fact]
    public void MetricSeriesProject_ZoomedWindow_HasEveryPointInsideAtFullResolutionAndTheRestReduced()
    {
        var history = LongHistory();

        var slice = MetricSeries.Project(history, "loss", MetricAxis.Step, alpha: 0, windowMin: 40_000, windowMax: 41_000);

        var inside = slice.Points.Where(p => p[0] is >= 40_000 and <= 41_000).Select(p => p[0]).ToList();
        Assert.Equal(Enumerable.Range(40_000, 1001).Select(i => (double?)i), inside);
        Assert.True(slice.Points.Count <= MetricSeries.MaxPoints + 1001 + 2, $"{slice.Points.Count} points");
        Assert.Equal(1, slice.Points[0][0]);
        Assert.Equal(100_000, slice.Points[^1][0]);
    }

    [Fact]
    public void MetricSeriesProject_Smoothing_RunsOverEveryPointSoAZoomedValueEqualsTheUnzoomedOne()
    {
        var history = LongHistory(1500);

        var whole = MetricSeries.Project(history, "loss", MetricAxis.Step, alpha: 0.9);
        var zoomed = MetricSeries.Project(history, "loss", MetricAxis.Step, alpha: 0.9, windowMin: 1490, windowMax: 1500);

        Assert.Equal(whole.Points[^1][1], zoomed.Points[^1][1]);
        Assert.Equal(1500, whole.Points.Count);
        Assert.NotEqual(history[^1]["loss"], whole.Points[^1][1]);
    }

    [Fact]
    public void MetricSeriesProject_AxisAndGaps_MapXAndKeepDivergedValuesAsNull()
    {
        MetricPoint[] points =
        [
            new(1, 0.1, 2, new Dictionary<string, double> { ["loss"] = 1.5 }),
            new(2, 0.2, 4, new Dictionary<string, double> { ["loss"] = double.NaN, ["eval_loss"] = 1.2 }),
        ];

        Assert.Equal([[1, 1.5], [2, null]], MetricSeries.Project(points, "loss", MetricAxis.Step, 0).Points);
        Assert.Equal([[0.2, 1.2]], MetricSeries.Project(points, "eval_loss", MetricAxis.Epoch, 0).Points);
        Assert.Equal([[2, 1.5], [4, null]], MetricSeries.Project(points, "loss", MetricAxis.Elapsed, 0).Points);
        Assert.Empty(MetricSeries.Project(points, "grad_norm", MetricAxis.Step, 0).Points);
    }

    [Fact]
    public async Task LiveRunStore_TwoSubscribersOfOneRun_ShareOneReaderThatStopsWithTheLast()
    {
        var files = new RunFiles(_directory);
        MetricsFile.Append(files, Train(1, 2));
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50), Linger = TimeSpan.Zero };
        var firstSaw = new TaskCompletionSource();
        var secondSaw = new TaskCompletionSource();

        var first = store.Subscribe(files, () => { firstSaw.TrySetResult(); return Task.CompletedTask; });
        await firstSaw.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var second = store.Subscribe(new RunFiles(_directory), () => { secondSaw.TrySetResult(); return Task.CompletedTask; });
        // The second watcher of a loaded run is told at once and reads the same history object.
        await secondSaw.Task.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Same(first.Run, second.Run);
        Assert.Equal(1, store.WatchedRuns);
        Assert.Equal(2, second.Run.Summary.LastLoss);
        first.Dispose();
        Assert.Equal(1, store.WatchedRuns);
        second.Dispose();
        Assert.Equal(0, store.WatchedRuns);
    }

    [Fact]
    public async Task LiveRunStore_ReopenedWithinTheLinger_ReusesTheLoadedHistoryThenStops()
    {
        var files = new RunFiles(_directory);
        MetricsFile.Append(files, Train(1, 2));
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50), Linger = TimeSpan.FromMilliseconds(400) };
        // A prerendering page preloads; the interactive page subscribes a moment later and finds the history parsed.
        store.Preload(files);
        var loaded = new TaskCompletionSource();
        var first = store.Subscribe(files, () => { loaded.TrySetResult(); return Task.CompletedTask; });
        await loaded.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var run = first.Run;
        first.Dispose();
        Assert.Equal(1, store.WatchedRuns);

        using (var reopened = store.Subscribe(new RunFiles(_directory), () => Task.CompletedTask))
        {
            Assert.Same(run, reopened.Run);
            Assert.True(reopened.Run.Loaded);
            // An earlier release's delay must not stop a run that is watched again.
            await Task.Delay(600);
            Assert.Equal(1, store.WatchedRuns);
        }
        await WaitUntilAsync(() => store.WatchedRuns == 0);
    }

    [Fact]
    public async Task LiveRunStore_FileRewrittenShorterOnResume_StartsTheHistoryOver()
    {
        var files = new RunFiles(_directory);
        for (var step = 1; step <= 6; step++) MetricsFile.Append(files, Train(step, 10 - step));
        using var store = new LiveRunStore(NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50) };
        var counts = new List<int>();
        LiveRunSubscription? subscription = null;
        using (subscription = store.Subscribe(files, () =>
               {
                   if (subscription is not null) lock (counts) counts.Add(subscription.Run.PointCount);
                   return Task.CompletedTask;
               }))
        {
            await WaitUntilAsync(() => subscription.Run.PointCount == 6);
            // A resume from the checkpoint of step 4 keeps the points up to it, then appends again.
            File.WriteAllLines(files.MetricsPath, Enumerable.Range(1, 4).Select(s => Train(s, 10 - s).ToJsonLine()));

            await WaitUntilAsync(() => subscription.Run.PointCount == 4);
            Assert.Equal(4, subscription.Run.Summary.Step);
            Assert.Equal(6, subscription.Run.Summary.LastLoss);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task WorkChanges_RunStateChangedThroughTheService_RaisesTrainsButASummaryUpdateDoesNot()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var (model, version, method) = await TrainingHost.PrepareAsync(env, TrainingHost.TwentyChats(), DeepExtension.Core.Training.TrainingAlgorithm.Sft);
        var runs = new TrainingRunService(env.DbFactory, env.Directories, new RecordingRunScheduler(), TimeProvider.System);
        var raised = new List<ChangedWork>();
        using var _ = env.WorkChanges.Subscribe(kinds => { lock (raised) raised.Add(kinds); });

        var started = await runs.StartAsync(new NewTrainRequest("n", model.Id, version.Id, method.Id, new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        var run = started.Value!;
        Assert.True(await runs.MarkRunningAsync(run.Id));
        lock (raised) Assert.Equal([ChangedWork.Trains, ChangedWork.Trains], raised);
        await runs.UpdateSummaryAsync(run.Id, RunSummary.Of([Train(1, 2)]));
        lock (raised) Assert.Equal(2, raised.Count);
        await runs.FinishAsync(run.Id, WorkStatus.Succeeded, null);
        lock (raised) Assert.Equal(3, raised.Count);
    }

    [Fact]
    public async Task WorkChanges_DeploymentReportsProgress_RaisesDeploymentsForEveryStage()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(env, ollama.BaseUrl);
        var service = env.CreateDeploymentService(new RecordingScheduler());
        var submitted = await service.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "tiny:q8_0", OllamaQuantization.Q8_0));
        Assert.True(submitted.Succeeded, submitted.AllErrors);
        Assert.True(await service.MarkRunningAsync(submitted.Value!.Id));
        var raised = new List<ChangedWork>();
        using var _ = env.WorkChanges.Subscribe(kinds => { lock (raised) raised.Add(kinds); });

        // The Live Models page reloads on these events: a stage the job reports must raise one, or the page shows it late.
        await service.ReportAsync(submitted.Value.Id, new DeployProgress(0.2, "Uploading model.safetensors"));
        await service.ReportAsync(submitted.Value.Id, new DeployProgress(0.9, "Ollama: writing manifest"));

        lock (raised) Assert.Equal([ChangedWork.Deployments, ChangedWork.Deployments], raised);
        var stored = (await service.GetAsync(submitted.Value.Id))!;
        Assert.Equal(("Ollama: writing manifest", 0.9), (stored.Stage, stored.Progress));
    }
}
