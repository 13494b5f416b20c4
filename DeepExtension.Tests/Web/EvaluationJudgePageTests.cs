using Bunit;
using DeepExtension.Core.Evaluations;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Dialogs;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace DeepExtension.Tests.Web;

/// <summary>A judge that gives no verdict, on an evaluation's page and Compare, and "Try the judge" in the Evaluate dialog against the fake Ollama.</summary>
public class EvaluationJudgePageTests : ComponentTestContext
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string Rambling = "Both assistants give a reasonable answer; it is hard to say which one is better.";

    [Fact]
    public async Task EvaluationPage_JudgeGaveNoVerdict_CountsItApartFromTiesAndSaysSoWithItsReply()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var evaluation = await RunEvaluationFixture.EvaluateBaseRunAsync(Env, trio,
            (_, opponent) => new JudgedPair(opponent, JudgeChoice.Unparsed, JudgeChoice.Unparsed, Rambling));
        JSInterop.SetupModule("./js/charts.js").Mode = JSRuntimeMode.Loose;

        var page = Render<EvaluationDetails>(p => p.Add(x => x.EvaluationId, evaluation.Id));

        var warning = page.WaitForElement("[data-testid=judge-no-verdict-warning]", Wait);
        Assert.Contains("The judge gave no verdict on 2 of 2 pairs", warning.TextContent);
        Assert.Matches(@"the win rate is out of the\s+0 decided pairs", warning.TextContent);
        Assert.Equal(Rambling, page.Find("[data-testid=judge-no-verdict-reply]").TextContent.Trim());
        var rows = page.FindAll("[data-testid=evaluation-aggregates] tbody tr").ToDictionary(r => r.QuerySelector("th")!.TextContent.Trim(),
            r => r.QuerySelectorAll("td").Select(c => c.TextContent.Trim()).ToArray());
        // Not "0 / 2 / 0" with a win rate of 0 % (0 %–66 %): nothing was decided.
        Assert.Equal(["—", "0 / 0 / 0 vs tiny-qwen2"], rows["Judge: win / tie / loss"]);
        Assert.Equal(["—", "2 of 2 pairs"], rows["Judge: no verdict"]);
        Assert.Equal(["—", "no pair decided"], rows["Judge: win rate (95 % CI)"]);
        Assert.All(page.FindAll("[data-testid=example-verdict]"), v => Assert.Contains("judge: no verdict vs tiny-qwen2", v.TextContent));
    }

    [Fact]
    public async Task EvaluationPage_OnePairOfTwoWithoutVerdict_RatesTheDecidedPairOnlyWithoutTheWarning()
    {
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var evaluation = await RunEvaluationFixture.EvaluateBaseRunAsync(Env, trio, (i, opponent) => i == 0
            ? new JudgedPair(opponent, JudgeChoice.A, JudgeChoice.B)
            : new JudgedPair(opponent, JudgeChoice.A, JudgeChoice.Unparsed, Rambling));
        JSInterop.SetupModule("./js/charts.js").Mode = JSRuntimeMode.Loose;

        var page = Render<EvaluationDetails>(p => p.Add(x => x.EvaluationId, evaluation.Id));

        page.WaitForElement("[data-testid=evaluation-aggregates]", Wait);
        var rows = page.FindAll("[data-testid=evaluation-aggregates] tbody tr").ToDictionary(r => r.QuerySelector("th")!.TextContent.Trim(),
            r => r.QuerySelectorAll("td").Select(c => c.TextContent.Trim()).ToArray());
        Assert.Equal("1 / 0 / 0 vs tiny-qwen2", rows["Judge: win / tie / loss"][1]);
        Assert.Equal("1 of 2 pairs", rows["Judge: no verdict"][1]);
        // Wilson 95 % of 1/1 is 20.7 %–100 %.
        Assert.Equal("100 % (21 %–100 %) of 1 decided", rows["Judge: win rate (95 % CI)"][1]);
        Assert.Empty(page.FindAll("[data-testid=judge-no-verdict-warning]"));
    }

    [Fact]
    public async Task EvaluateDialog_TryTheJudge_ShowsTheRawAnswerAndTheVerdictReadFromIt()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (_, judge) = await DeploymentFixture.DeployedAsync(Env, ollama, service: Deployments, name: "judge:q8_0", reference: "tiny-llama");
        var trio = await ComparedRunsFixture.CreateAsync(Env);
        var customized = await Services.GetRequiredService<DeepExtension.Core.CustomizedModels.CustomizedModelService>().ListAsync();
        var plan = await Services.GetRequiredService<EvaluationService>().PlanAsync(EvaluatedModelKind.Customized, customized.Single(m => m.Name == trio.AdapterName).Id);
        Assert.True(plan.Succeeded, plan.AllErrors);
        var prompts = new List<string>();
        ollama.ChatReply = (_, prompt) =>
        {
            prompts.Add(prompt);
            return Rambling;
        };
        var dialogs = Render<MudDialogProvider>();
        await dialogs.InvokeAsync(() => Services.GetRequiredService<IDialogService>().ShowAsync<EvaluateDialog>(null,
            new DialogParameters<EvaluateDialog> { { d => d.Plan, plan.Value! } }));
        var select = dialogs.FindComponents<MudSelect<Guid?>>().Single(s => Equals(s.Instance.UserAttributes.GetValueOrDefault("data-testid"), "evaluate-judge"));
        await dialogs.InvokeAsync(() => select.Instance.ValueChanged.InvokeAsync(judge.Id));

        dialogs.WaitForElement("[data-testid=evaluate-try-judge]", Wait).Click();

        var trial = dialogs.WaitForElement("[data-testid=judge-trial]", Wait);
        Assert.Equal(Rambling, dialogs.Find("[data-testid=judge-trial-reply]").TextContent.Trim());
        Assert.Contains("No verdict: the reply holds no [[A]], [[B]] or [[C]]", dialogs.Find("[data-testid=judge-trial-verdict]").TextContent);
        // The first row of the train's dataset, its reference as answer A.
        var sent = Assert.Single(prompts);
        Assert.Contains("[The Start of Assistant B's Answer]\nI don't know.\n", sent);
        Assert.Contains(trial.QuerySelector("b")!.ParentElement!.TextContent.Replace("Question:", "").Trim(), sent);

        ollama.ChatReply = (_, _) => "Assistant A repeats the reference. [[A]]";
        dialogs.Find("[data-testid=evaluate-try-judge]").Click();

        dialogs.WaitForAssertion(() => Assert.Contains("Verdict read: [[A]], the reference, as expected", dialogs.Find("[data-testid=judge-trial-verdict]").TextContent), Wait);
        Assert.Equal("Assistant A repeats the reference. [[A]]", dialogs.Find("[data-testid=judge-trial-reply]").TextContent.Trim());
    }
}
