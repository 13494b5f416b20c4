using Bunit;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Web;

/// <summary>Compare's evaluation scores over <see cref="ComparedRunsFixture"/>'s runs and a recorded evaluation (<see cref="RunEvaluationFixture"/>).</summary>
public class CompareEvaluationsPageTests : ComponentTestContext
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private IRenderedComponent<CompareRuns> Open(params Guid[] ids)
    {
        JSInterop.SetupModule("./js/charts.js").Mode = JSRuntimeMode.Loose;
        var navigation = Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo("/model-training/compare?runs=" + string.Join(",", ids));
        return RenderInteractive<CompareRuns>();
    }

    private static string[] Cells(IRenderedComponent<CompareRuns> page, string key, string testId) =>
        page.FindAll($"[data-testid=evaluation-score-row][data-key={key}] [data-testid={testId}]").Select(c => c.TextContent.Trim()).ToArray();

    [Fact]
    public async Task ComparePage_OneRunEvaluated_ShowsItsAggregatesWithTheBaseForReferenceAndSaysTheOtherHasNone()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var evaluation = await RunEvaluationFixture.EvaluateBaseRunAsync(Env, trio);

        var page = Open(trio.Base.Id, trio.Longer.Id);

        page.WaitForElement("[data-testid=compare-evaluations]", Wait);
        var columns = page.FindAll("[data-testid=evaluation-column]");
        Assert.Equal([trio.Base.Id.ToString(), trio.Longer.Id.ToString()], columns.Select(c => c.GetAttribute("data-run") ?? "").ToArray());
        var link = page.Find("[data-testid=evaluation-column-link]");
        Assert.Equal($"/evaluations/{evaluation.Id}", link.GetAttribute("href"));
        Assert.Equal(evaluation.Name, link.TextContent.Trim());
        Assert.Contains(trio.AdapterName, columns[0].TextContent);
        Assert.Contains("all rows · 2 examples · greedy", columns[0].TextContent);
        Assert.Equal("in grey: tiny-qwen2", page.Find("[data-testid=evaluation-baseline-name]").TextContent.Trim());
        // Hand-computed (see the fixture): the customized model answers both exactly, the base neither.
        foreach (var key in new[] { "exact_match", "contains_answer", "numeric_match" })
        {
            Assert.Equal(["100 %"], Cells(page, key, "evaluation-value"));
            Assert.Equal(["0 %"], Cells(page, key, "evaluation-baseline"));
        }
        Assert.Equal(["1.00"], Cells(page, "rouge_l", "evaluation-value"));
        Assert.Equal(["1.00"], Cells(page, "bleu", "evaluation-value"));
        Assert.Equal(["0.7500"], Cells(page, "loss", "evaluation-value"));
        Assert.Equal(["2.000"], Cells(page, "loss", "evaluation-baseline"));
        Assert.Equal(["2.117"], Cells(page, "perplexity", "evaluation-value"));
        Assert.Equal(["7.389"], Cells(page, "perplexity", "evaluation-baseline"));
        // No judge in this evaluation: its rows say so, with no reference value.
        Assert.Equal(["—"], Cells(page, "judge_win_rate", "evaluation-value"));
        Assert.Empty(Cells(page, "judge_win_rate", "evaluation-baseline"));
        // The cancelled run produced no model: its column says so instead of showing numbers.
        var none = page.Find("[data-testid=evaluation-none]");
        Assert.Contains("No evaluation of this train's model yet", none.TextContent);
        Assert.Contains("The train produced no customized model", none.TextContent);
    }

    [Fact]
    public async Task ComparePage_OneEvaluationOfTwoTrainsModels_HeadsEachColumnWithAllItsModels()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var (evaluation, longerAdapter) = await RunEvaluationFixture.EvaluateTwoRunsAsync(Env, trio);

        var page = Open(trio.Base.Id, trio.Longer.Id);

        page.WaitForElement("[data-testid=compare-evaluations]", Wait);
        Assert.Equal($"{trio.AdapterName}, {longerAdapter} vs tiny-qwen2 on v1 all", evaluation.Name);
        var columns = page.FindAll("[data-testid=evaluation-column]");
        Assert.Equal([trio.Base.Id.ToString(), trio.Longer.Id.ToString()], columns.Select(c => c.GetAttribute("data-run") ?? "").ToArray());
        // Each train's column names its own model, and the evaluation's title names both trains' models (not only the last).
        foreach (var (column, own) in columns.Zip([trio.AdapterName, longerAdapter]))
        {
            var title = column.QuerySelector("[data-testid=evaluation-column-link]")!.TextContent.Trim();
            Assert.Contains(trio.AdapterName, title);
            Assert.Contains(longerAdapter, title);
            Assert.Equal(own, column.QuerySelector("[data-testid=evaluation-column-model]")!.TextContent.Trim());
        }
    }

    [Fact]
    public async Task ComparePage_NoRunEvaluated_SaysSoAndHowToEvaluate()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);

        var page = Open(trio.Base.Id, trio.Longer.Id, trio.Hotter.Id);

        var empty = page.WaitForElement("[data-testid=compare-no-evaluations]", Wait);
        Assert.Contains("None of these trains' models has been evaluated yet", empty.TextContent);
        Assert.Contains("Evaluate", empty.TextContent);
        Assert.Empty(page.FindAll("[data-testid=compare-evaluations]"));
    }
}
