using Bunit;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Web;

public class NewTrainPageTests : ComponentTestContext
{
    [Fact]
    public async Task NewTrain_Defaults_PickTheModelMethodAndACompatibleDatasetAndFitMaxTokens()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);

        var page = Render<NewTrain>();

        page.WaitForAssertion(() => Assert.Equal("256", page.Find("input[data-testid=param-max_tokens]").GetAttribute("value")));
        Assert.Contains("facts v1", page.Find("[data-testid=train-dataset]").ParentElement!.TextContent);
    }

    [Fact]
    public async Task NewTrain_RunWithoutAName_ShowsTheRuleAndQueuesNothing()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = Render<NewTrain>();
        page.WaitForElement("button[data-testid=run-the-train]");

        page.Find("input[data-testid=param-batch_size]").Input("0");
        page.Find("button[data-testid=run-the-train]").Click();

        page.WaitForAssertion(() =>
        {
            Assert.Contains("The train name is required.", page.Markup);
            Assert.Contains("Batch size must be at least 1.", page.Markup);
        });
        Assert.Empty(Scheduler.Queued);
    }

    [Fact]
    public async Task NewTrain_ValidForm_QueuesTheRunWithTheFormsValues()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = Render<NewTrain>();
        page.WaitForElement("button[data-testid=run-the-train]");

        page.Find("input[data-testid=train-name]").Input("from-form");
        page.Find("input[data-testid=param-lora_r]").Input("4");
        page.Find("button[data-testid=run-the-train]").Click();

        page.WaitForAssertion(() => Assert.Single(Scheduler.Queued));
        var run = (await Services.GetRequiredService<TrainingRunService>().GetAsync(Scheduler.Queued[0]))!;
        Assert.Equal("from-form", run.Name);
        Assert.Equal(4, run.Parameters["lora_r"]!.GetValue<int>());
        Assert.Equal(256, run.Parameters["max_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task NewTrain_MaxTokensAtTheModelsWholeContext_WarnsNothingTheUserCannotChange()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = Render<NewTrain>();

        // The reference model's context is 256 tokens, below max tokens' typical range, and the form starts there.
        page.WaitForAssertion(() => Assert.Equal("256", page.Find("input[data-testid=param-max_tokens]").GetAttribute("value")));
        Assert.DoesNotContain("Max tokens 256 is below the typical range", page.Markup);

        // Below the context the user could raise it: then the hint is useful.
        page.Find("input[data-testid=param-max_tokens]").Input("128");
        page.WaitForAssertion(() => Assert.Contains("Max tokens 128 is below the typical range", page.Markup));
    }
}
