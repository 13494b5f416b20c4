using Bunit;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace DeepExtension.Tests.Web;

/// <summary>The Model Training list: filter, sort, multi-select and the Compare button, across the every-second reload.</summary>
public class ModelTrainingListTests : ComponentTestContext
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>The fixture's base (Succeeded), longer (Cancelled), hotter (Running) and a queued run of an own SFT preset.</summary>
    private async Task<(ComparedRunsFixture.Trio Trio, TrainingRun Gentle)> CreateRunsAsync()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var preset = await Env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("SFT gentle", TrainingAlgorithm.Sft, null, new() { ["learning_rate"] = 1e-5 }));
        Assert.True(preset.Succeeded, preset.AllErrors);
        var runs = Services.GetRequiredService<TrainingRunService>();
        var gentle = await runs.StartAsync(new NewTrainRequest("gentle", trio.Base.BaseModelId, trio.Base.DatasetVersionId, preset.Value!.Id,
            new() { ["max_tokens"] = 64 }, "cpu"));
        Assert.True(gentle.Succeeded, gentle.AllErrors);
        return (trio, gentle.Value!);
    }

    private static string[] Names(IRenderedComponent<ModelTraining> page) =>
        page.FindAll("[data-testid=run-name]").Select(e => e.TextContent.Trim()).ToArray();

    private IRenderedComponent<ModelTraining> Open()
    {
        Render<MudPopoverProvider>();
        var page = Render<ModelTraining>();
        page.WaitForAssertion(() => Assert.Equal(4, Names(page).Length), Wait);
        return page;
    }

    private static Task SelectAsync(IRenderedComponent<ModelTraining> page, string testId, string value)
    {
        var select = page.FindComponents<MudSelect<string>>().Single(s => Equals(s.Instance.UserAttributes.GetValueOrDefault("data-testid"), testId));
        return page.InvokeAsync(() => select.Instance.SelectOption(value));
    }

    [Fact]
    public async Task ModelTrainingList_SearchText_KeepsRunsMatchingNameBaseModelOrDataset()
    {
        await CreateRunsAsync();
        var page = Open();

        page.Find("input[data-testid=runs-search]").Input("HOT");
        page.WaitForAssertion(() => Assert.Equal(["hotter"], Names(page)), Wait);

        // Every run trains tiny-qwen2 on "facts": both match all four.
        page.Find("input[data-testid=runs-search]").Input("facts v1");
        page.WaitForAssertion(() => Assert.Equal(4, Names(page).Length), Wait);
        page.Find("input[data-testid=runs-search]").Input("qwen2");
        page.WaitForAssertion(() => Assert.Equal(4, Names(page).Length), Wait);
        page.Find("input[data-testid=runs-search]").Input("no such run");
        page.WaitForAssertion(() => Assert.Empty(Names(page)), Wait);
    }

    [Fact]
    public async Task ModelTrainingList_StatusAndMethodFilters_ShowOnlyMatchingRuns()
    {
        await CreateRunsAsync();
        var page = Open();

        await SelectAsync(page, "runs-status-filter", nameof(WorkStatus.Cancelled));
        page.WaitForAssertion(() => Assert.Equal(["longer"], Names(page)), Wait);

        await SelectAsync(page, "runs-status-filter", ModelTraining.AnyValue);
        await SelectAsync(page, "runs-method-filter", "SFT gentle");
        page.WaitForAssertion(() => Assert.Equal(["gentle"], Names(page)), Wait);
    }

    [Fact]
    public async Task ModelTrainingList_SortByNameAndBestLoss_OrdersTheRows()
    {
        await CreateRunsAsync();
        var page = Open();

        page.Find("[data-testid=sort-name]").Click();
        page.WaitForAssertion(() => Assert.Equal(["base", "gentle", "hotter", "longer"], Names(page)), Wait);
        page.Find("[data-testid=sort-name]").Click();
        page.WaitForAssertion(() => Assert.Equal(["longer", "hotter", "gentle", "base"], Names(page)), Wait);

        // Best loss: hotter 0.43, base 1, longer 1.1, the queued run without a loss last.
        page.Find("[data-testid=sort-best-loss]").Click();
        page.WaitForAssertion(() => Assert.Equal(["hotter", "base", "longer", "gentle"], Names(page)), Wait);
    }

    [Fact]
    public async Task ModelTrainingList_SelectTwo_EnablesCompareForThemAndKeepsTheSelectionAcrossReloads()
    {
        var (trio, _) = await CreateRunsAsync();
        var page = Open();
        var compare = () => page.Find("[data-testid=compare-runs]");
        Assert.True(compare().HasAttribute("disabled"));

        CheckBox(page, "hotter").Change(true);
        page.WaitForAssertion(() => Assert.Equal("1 selected", page.Find("[data-testid=runs-selected-count]").TextContent.Trim()), Wait);
        Assert.True(compare().HasAttribute("disabled"));
        CheckBox(page, "base").Change(true);

        page.WaitForAssertion(() => Assert.False(compare().HasAttribute("disabled")), Wait);
        Assert.Equal($"/model-training/compare?runs={trio.Hotter.Id},{trio.Base.Id}", compare().GetAttribute("href"));

        // The running run logs more points (its row follows them live) and the list reloads on a state change (new row
        // objects); the ticks and the button stay.
        ComparedRunsFixture.AppendPoints(Env, trio.Hotter, ComparedRunsFixture.PointsPerRun + 1, 5, 5e-4, 2);
        Env.WorkChanges.Raise(DeepExtension.Core.Common.ChangedWork.Trains);
        page.WaitForAssertion(() => Assert.Contains(page.FindAll("[data-testid=run-progress]"), p => p.TextContent.Contains("step 15 / 20")), Wait);
        Assert.True(CheckBox(page, "hotter").IsChecked);
        Assert.True(CheckBox(page, "base").IsChecked);
        Assert.False(CheckBox(page, "longer").IsChecked);
        Assert.Equal($"/model-training/compare?runs={trio.Hotter.Id},{trio.Base.Id}", compare().GetAttribute("href"));

        CheckBox(page, "base").Change(false);
        page.WaitForAssertion(() => Assert.True(compare().HasAttribute("disabled")), Wait);
    }

    private static AngleSharp.Html.Dom.IHtmlInputElement CheckBox(IRenderedComponent<ModelTraining> page, string runName) =>
        (AngleSharp.Html.Dom.IHtmlInputElement)page.FindAll("tr")
            .Single(r => r.QuerySelector("[data-testid=run-name]")?.TextContent.Trim() == runName)
            .QuerySelector("input[type=checkbox]")!;
}
