using Bunit;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Web;

/// <summary>One name for one number on a train's page: its duration, the latest step's training time, the truncated examples.</summary>
public class TrainPageNumbersTests : ComponentTestContext
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private async Task<TrainingRun> RunningRunAsync(params string[] logLines)
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        Services.AddSingleton(new CustomizedModelService(Env.DbFactory, Env.Directories, TimeProvider.System));
        var runs = Services.GetRequiredService<TrainingRunService>();
        var started = await runs.StartAsync(new NewTrainRequest("numbers", model.Id, version.Id, method.Id, new System.Text.Json.Nodes.JsonObject { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(started.Succeeded, started.AllErrors);
        Assert.True(await runs.MarkRunningAsync(started.Value!.Id));
        var files = runs.FilesOf(started.Value!);
        Directory.CreateDirectory(files.Directory);
        // The worker's clock starts at the first step, after loading the model and the data: 66 s into a run that started earlier.
        MetricsFile.Append(files, new MetricPoint(3, 0.3, 66, new Dictionary<string, double> { ["loss"] = 1.5, ["kl"] = -5.42e-20 }));
        foreach (var line in logLines) files.Log.Append(RunLogLevel.Info, line);
        return (await runs.GetAsync(started.Value!.Id))!;
    }

    [Fact]
    public async Task TrainPage_RunningTrain_OneDurationAndTheStepsTrainingTimeUnderItsOwnName()
    {
        var run = await RunningRunAsync();

        var page = Render<TrainDetails>(p => p.Add(x => x.RunId, run.Id));

        page.WaitForElement("[data-testid=latest-metrics]", Wait);
        Assert.Equal("1m 06s", page.Find("[data-testid=latest-training-time]").TextContent.Trim());
        Assert.NotNull(page.Find("[data-testid=details-duration]"));
        // "Elapsed" was a second word for a second number next to the list's "Duration".
        Assert.DoesNotContain("Elapsed", page.Markup);
        // Float noise around zero is a zero.
        Assert.Equal("0", page.Find("[data-testid=latest-kl]").TextContent.Trim());
    }

    [Fact]
    public async Task TrainPage_WorkerTruncatedExamples_SaysHowManyOnThePageNotOnlyInTheLog()
    {
        var run = await RunningRunAsync(
            "Run numbers (SFT) on CPU in float32; base model /models/tiny.",
            new TrainingDataReport(30, 5, 23, 0, 64).ToLogMessage());

        var page = Render<TrainDetails>(p => p.Add(x => x.RunId, run.Id));

        var warning = page.WaitForElement("[data-testid=details-truncated-warning]", Wait);
        Assert.Contains("23 of 35 examples were longer than max tokens (64) and were cut there", Text(warning.TextContent));
        Assert.Equal("30 training, 5 validation · 23 of 35 truncated to 64 tokens", Text(page.Find("[data-testid=details-training-data]").TextContent));
    }

    /// <summary>Text as a browser lays it out: runs of whitespace as one space.</summary>
    private static string Text(string content) => System.Text.RegularExpressions.Regex.Replace(content, @"\s+", " ").Trim();

    [Theory]
    // As RunTrainer wrote the line before the report type existed: runs trained earlier are read too.
    [InlineData("Dataset: 30 training and 5 validation examples, 23 truncated to 256 tokens.", 30, 5, 23, 0, 256)]
    [InlineData("Dataset: 12 training and 0 validation examples, 4 truncated to 64 tokens, 2 skipped (no answer tokens left after truncation).", 12, 0, 4, 2, 64)]
    [InlineData("Dataset: 40 training and 0 validation examples.", 40, 0, 0, 0, 0)]
    public void DataReport_WorkersLogLine_ReadsBackAndRoundTrips(string line, int train, int validation, int truncated, int skipped, int maxTokens)
    {
        var report = TrainingDataReport.Parse(line);

        Assert.Equal(new TrainingDataReport(train, validation, truncated, skipped, maxTokens), report);
        Assert.Equal(line, report!.ToLogMessage());
        Assert.Null(TrainingDataReport.Parse("Dataset: ready."));
    }
}
