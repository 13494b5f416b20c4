using Bunit;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Controls;
using DeepExtension.Web.Components.Pages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepExtension.Tests.Web;

/// <summary>The Compare page over three runs of <see cref="ComparedRunsFixture"/>: tables, colours, charts and live points.</summary>
public class CompareRunsPageTests : ComponentTestContext
{
    // A bound, not a timing claim: the live store tails files and the loaded full suite shares two cores.
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private BunitJSModuleInterop _charts = null!;

    private async Task<ComparedRunsFixture.Trio> CreateRunsAsync()
    {
        _charts = JSInterop.SetupModule("./js/charts.js");
        _charts.Mode = JSRuntimeMode.Loose;
        return await ComparedRunsFixture.CreateAsync(Env);
    }

    private IRenderedComponent<CompareRuns> Open(params Guid[] ids)
    {
        var navigation = Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo("/model-training/compare?runs=" + string.Join(",", ids));
        return RenderInteractive<CompareRuns>();
    }

    private static string[] ConfigKeys(IRenderedComponent<CompareRuns> page) =>
        page.FindAll("[data-testid=config-row]").Select(r => r.GetAttribute("data-key")!).ToArray();

    [Fact]
    public async Task ComparePage_DifferencesOnly_HidesRowsWhereAllRunsAgree()
    {
        var trio = await CreateRunsAsync();
        var page = Open(trio.Base.Id, trio.Longer.Id, trio.Hotter.Id);
        page.WaitForElement("[data-testid=config-table]", Wait);
        var all = ConfigKeys(page);
        Assert.Contains("batch_size", all);
        Assert.Contains("dataset_version", all);
        Assert.Contains("lora_r", all);
        Assert.Contains("save_frequency", all);
        Assert.Contains("system_prompt", all);
        var learningRate = page.Find("[data-testid=config-row][data-key=learning_rate]");
        Assert.Equal(["1e-4", "1e-4", "5e-4"], learningRate.QuerySelectorAll("[data-testid=config-value]").Select(c => c.TextContent.Trim()).ToArray());

        page.Find("input[data-testid=differences-only]").Change(true);

        page.WaitForAssertion(() => Assert.Equal(["num_epochs", "learning_rate"], ConfigKeys(page)), Wait);
    }

    [Fact]
    public async Task ComparePage_SameParameters_DifferencesOnlySaysTheyShareEverything()
    {
        var trio = await CreateRunsAsync();
        // One run twice in the address is one run: compare base with longer, whose only differences are the epochs.
        var page = Open(trio.Base.Id, trio.Longer.Id, trio.Base.Id);
        page.WaitForElement("[data-testid=config-table]", Wait);
        Assert.Equal(2, page.FindAll("[data-testid=outcome-row]").Count);

        page.Find("input[data-testid=differences-only]").Change(true);

        page.WaitForAssertion(() => Assert.Equal(["num_epochs"], ConfigKeys(page)), Wait);
    }

    [Fact]
    public async Task ComparePage_ThreeRuns_EachRunKeepsOneColourInEveryChartAndTable()
    {
        var trio = await CreateRunsAsync();
        var page = Open(trio.Hotter.Id, trio.Base.Id, trio.Longer.Id);
        var expected = new[] { RunColours.At(0), RunColours.At(1), RunColours.At(2) };
        Assert.Equal(3, expected.Distinct().Count());

        page.WaitForElement("[data-testid=outcome-table]", Wait);
        Assert.Equal(["hotter", "base", "longer"], page.FindAll("[data-testid=outcome-name]").Select(e => e.TextContent.Trim()).ToArray());
        Assert.Equal(expected, page.FindAll("[data-testid=outcome-table] [data-testid=run-colour]").Select(e => e.GetAttribute("data-colour")).ToArray());
        Assert.Equal(expected, page.FindAll("[data-testid=config-run] [data-testid=run-colour]").Select(e => e.GetAttribute("data-colour")).ToArray());

        // Every chart is created with one line per run, in the selection's order and colours.
        string[] charts = ["loss", "eval-loss", "learning-rate", "grad-norm", "tokens-per-second"];
        page.WaitForAssertion(() => Assert.Equal(charts.Length, _charts.Invocations["create"].Count), Wait);
        foreach (var key in charts)
        {
            var id = page.Find($"[data-testid=chart-{key}] [data-chart-id]").GetAttribute("data-chart-id");
            var options = _charts.Invocations["create"].Single(i => ((string)Property(i.Arguments[1]!, "id")!) == id).Arguments[1]!;
            var series = ((IEnumerable<object>)Property(options, "series")!).ToList();
            Assert.Equal(["hotter", "base", "longer"], series.Select(s => (string)Property(s, "name")!).ToArray());
            Assert.Equal(expected, series.Select(s => (string?)Property(s, "color")).ToArray());
        }
        Assert.Empty(page.FindAll("[data-testid=chart-dpo-margins]"));
        Assert.Empty(page.FindAll("[data-testid=chart-grpo-reward]"));
    }

    [Fact]
    public async Task ComparePage_HistoriesAlreadyLoaded_ChartsAreInTheRenderThatShowsTheRuns()
    {
        var trio = await CreateRunsAsync();
        var live = Services.GetRequiredService<LiveRunStore>();
        var runs = Services.GetRequiredService<TrainingRunService>();
        // Loaded already, as after the prerender's preload or while another page watches them.
        var watchers = new List<LiveRunSubscription>();
        foreach (var run in new[] { trio.Base, trio.Longer })
        {
            var loaded = new TaskCompletionSource();
            watchers.Add(live.Subscribe(runs.FilesOf(run), () => { loaded.TrySetResult(); return Task.CompletedTask; }));
            await loaded.Task.WaitAsync(Wait);
        }

        var page = Open(trio.Base.Id, trio.Longer.Id);
        var markups = new List<string> { page.Markup };
        page.OnMarkupUpdated += (_, _) => markups.Add(page.Markup);
        page.WaitForElement("[data-testid=chart-loss]", Wait);

        // No render shows the runs without their charts, waiting for a live update to bring them.
        var first = markups.First(m => m.Contains("data-testid=\"outcome-table\"", StringComparison.Ordinal));
        Assert.Contains("data-testid=\"chart-loss\"", first, StringComparison.Ordinal);
        foreach (var watcher in watchers) watcher.Dispose();
    }

    [Fact]
    public async Task ComparePage_AddressNamesAnIdOfNoRun_WatchesOnlyTheRunsThatExist()
    {
        var trio = await CreateRunsAsync();
        var live = Services.GetRequiredService<LiveRunStore>();

        var page = Open(trio.Base.Id, Guid.NewGuid(), trio.Longer.Id);
        page.WaitForElement("[data-testid=chart-loss]", Wait);

        // The histories are read ahead from the address's ids, but an id without a run folder starts no reader.
        Assert.Equal(2, live.WatchedRuns);
        Assert.Equal(2, page.FindAll("[data-testid=outcome-row]").Count);
    }

    [Fact]
    public async Task ComparePage_Outcome_ShowsStatusLossesDurationThroughputAndAdapter()
    {
        var trio = await CreateRunsAsync();
        var page = Open(trio.Base.Id, trio.Longer.Id, trio.Hotter.Id);
        page.WaitForElement("[data-testid=outcome-table]", Wait);

        string[] Column(string testId) => page.FindAll($"[data-testid={testId}]").Select(e => e.TextContent.Trim()).ToArray();
        Assert.Equal(["Succeeded", "Cancelled", "Running"], Column("outcome-status"));
        // loss = 2 / (1 + 10 · lr · 1e3) + 0.1 per extra epoch at step 10: 1, 1.1 and 2/6 + 0.1; eval loss 2.2 / (…) likewise.
        Assert.Equal(["1.000", "1.100", "0.4333"], Column("outcome-final-loss"));
        Assert.Equal(["1.000", "1.100", "0.4333"], Column("outcome-best-loss"));
        Assert.Equal(["1.100", "1.200", "0.4667"], Column("outcome-best-eval-loss"));
        // The mean over the logged steps 1..10 (the last steps logged 820, 840 and 880).
        page.WaitForAssertion(() => Assert.Equal(["816", "836", "876"], Column("outcome-tokens")), Wait);
        Assert.Equal([trio.AdapterName, "—", "—"], Column("outcome-adapter"));
        Assert.All(Column("outcome-duration"), d => Assert.Matches(@"^\d+s$", d));
    }

    [Fact]
    public async Task ComparePage_RunningRun_NewPointsReachItsLinesLive()
    {
        var trio = await CreateRunsAsync();
        var page = Open(trio.Base.Id, trio.Longer.Id, trio.Hotter.Id);
        var lossId = page.WaitForElement("[data-testid=chart-loss] [data-chart-id]", Wait).GetAttribute("data-chart-id");
        var hotter = CompareRuns.SourceOf(trio.Hotter);
        int LossPoints(string source, Func<object, int> count) => _charts.Invocations["setData"]
            .Where(i => (string)i.Arguments[0]! == lossId)
            .Select(i => (Dictionary<string, object>)Property(i.Arguments[1]!, "series")!)
            .Select(series => count(series[source]))
            .LastOrDefault();
        int Total(object series) => (int)Property(series, "total")!;
        int Drawn(object series) => ((IReadOnlyList<double?[]>)Property(series, "points")!).Count;
        page.WaitForAssertion(() => Assert.Equal(ComparedRunsFixture.PointsPerRun, LossPoints(hotter, Total)), Wait);

        ComparedRunsFixture.AppendPoints(Env, trio.Hotter, ComparedRunsFixture.PointsPerRun + 1, 3, 5e-4, 2);

        page.WaitForAssertion(() => Assert.Equal(ComparedRunsFixture.PointsPerRun + 3, LossPoints(hotter, Total)), Wait);
        Assert.Equal(ComparedRunsFixture.PointsPerRun + 3, LossPoints(hotter, Drawn));
        // The other runs' lines still hold their own points only.
        Assert.Equal(ComparedRunsFixture.PointsPerRun, LossPoints(CompareRuns.SourceOf(trio.Base), Drawn));
    }

    [Fact]
    public async Task ComparePage_OneKnownAndOneUnknownRun_NamesTheMissingOneAndAsksForTwo()
    {
        var trio = await CreateRunsAsync();
        var unknown = Guid.NewGuid();
        var page = Open(trio.Base.Id, unknown);

        page.WaitForElement("[data-testid=compare-too-few]", Wait);
        Assert.Contains(unknown.ToString(), page.Find("[data-testid=compare-missing]").TextContent);
        Assert.Equal("/model-training", page.Find("[data-testid=compare-back-link]").GetAttribute("href"));
        Assert.Empty(page.FindAll("[data-testid=config-table]"));
        Assert.Empty(page.FindAll("[data-testid=compare-charts]"));
    }

    [Fact]
    public async Task ComparePage_NoRunsInTheAddress_AsksForTwoRuns()
    {
        await CreateRunsAsync();
        var navigation = Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo("/model-training/compare?runs=nonsense");

        var page = RenderInteractive<CompareRuns>();

        page.WaitForElement("[data-testid=compare-too-few]", Wait);
        Assert.Contains("nonsense", page.Find("[data-testid=compare-missing]").TextContent);
    }

    private static object? Property(object target, string name) => target.GetType().GetProperty(name)!.GetValue(target);

    [Fact]
    public async Task ComparePage_AddressChangesToOtherRuns_ShowsTheNewSelection()
    {
        var trio = await CreateRunsAsync();
        var page = Open(trio.Base.Id, trio.Longer.Id);
        page.WaitForAssertion(() => Assert.Equal([trio.Base.Name, trio.Longer.Name], page.FindAll("[data-testid=config-run]").Select(h => h.TextContent.Trim())), Wait);

        Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>()
            .NavigateTo($"/model-training/compare?runs={trio.Hotter.Id},{trio.Base.Id}");
        page.Render();

        page.WaitForAssertion(() => Assert.Equal([trio.Hotter.Name, trio.Base.Name], page.FindAll("[data-testid=config-run]").Select(h => h.TextContent.Trim())), Wait);
    }

    [Fact]
    public async Task ComparePage_TwoRunsWithOneName_TellsThemApartByTheirIds()
    {
        var trio = await CreateRunsAsync();
        await using (var db = await Env.DbFactory.CreateDbContextAsync())
        {
            await db.TrainingRuns.Where(r => r.Id == trio.Longer.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.Name, trio.Base.Name));
        }

        var page = Open(trio.Base.Id, trio.Longer.Id);

        string Prefix(TrainingRun run) => run.Id.ToString("N")[..4];
        page.WaitForAssertion(() => Assert.Equal(
            [$"{trio.Base.Name} ({Prefix(trio.Base)})", $"{trio.Base.Name} ({Prefix(trio.Longer)})"],
            page.FindAll("[data-testid=config-run]").Select(h => h.TextContent.Trim())), Wait);
    }

    [Fact]
    public async Task ComparePage_RunLogsGrpoMetrics_GrpoChartsAppearLive()
    {
        var trio = await CreateRunsAsync();
        var page = Open(trio.Base.Id, trio.Hotter.Id);
        page.WaitForElement("[data-testid=chart-loss]", Wait);
        Assert.Empty(page.FindAll("[data-testid=chart-grpo-reward]"));

        var files = new RunFiles(Path.Combine(Env.DataRoot, trio.Hotter.RelativeDirectory));
        MetricsFile.Append(files, new MetricPoint(ComparedRunsFixture.PointsPerRun + 1, 1.1, 9, new Dictionary<string, double>
        {
            [MetricPoint.Keys.Reward] = 0.75,
            [MetricPoint.Keys.RewardStd] = 0.5,
            [MetricPoint.Keys.Kl] = 0.01,
            [MetricPoint.Keys.CompletionLength] = 6,
        }));

        foreach (var key in new[] { "grpo-reward", "grpo-reward-std", "grpo-kl", "grpo-completion-length" })
        {
            page.WaitForElement($"[data-testid=chart-{key}]", Wait);
        }
        Assert.Empty(page.FindAll("[data-testid=chart-dpo-margins]"));
    }
}
