using System.Text.Json.Nodes;
using Bunit;
using DeepExtension.Core.Training;
using DeepExtension.Web.Components.Controls;
using DeepExtension.Web.Components.Pages;

namespace DeepExtension.Tests.Web;

public class TrainingMethodsPageTests : ComponentTestContext
{
    [Fact]
    public void TrainingMethodsPage_FreshInstall_ListsBuiltInsWithTheirStatus()
    {
        var page = Render<TrainingMethods>();

        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("[data-testid=method-name-cell]").Count));
        var status = page.FindAll("td[data-testid=method-status]").Select(s => s.TextContent.Trim()).ToList();
        Assert.Equal(["ready", "ready", "ready", "ready"], status);
    }

    [Fact]
    public async Task TrainingMethodsPage_ExpandCustomMethod_ShowsItsOwnValues()
    {
        await Env.TrainingMethods.CreatePresetAsync(new TrainingMethodInput("SFT r64", TrainingAlgorithm.Sft, null, new JsonObject { ["lora_r"] = 64 }));
        var page = Render<TrainingMethods>();
        page.WaitForAssertion(() => Assert.Equal(5, page.FindAll("[data-testid=method-name-cell]").Count));

        page.FindAll("[data-testid=toggle-schema]")[4].Click();

        var schema = page.WaitForElement("[data-testid=parameter-schema]");
        Assert.Equal("64", schema.QuerySelector("[data-testid=value-lora_r]")!.TextContent.Trim());
        Assert.NotNull(schema.QuerySelector("[data-testid=value-lora_r] b"));
        Assert.Equal("2e-4", schema.QuerySelector("[data-testid=value-learning_rate]")!.TextContent.Trim());
    }

    [Fact]
    public void TrainingMethodForm_InvalidNumbers_ShowsTheRulesOnTheFields()
    {
        var form = Render<TrainingMethodForm>();

        form.Find("input[data-testid=method-name]").Input("broken");
        form.Find("input[data-testid=param-learning_rate]").Input("fast");
        form.Find("input[data-testid=param-lora_dropout]").Input("1.5");
        form.Find("button[data-testid=save-method]").Click();

        form.WaitForAssertion(() =>
        {
            Assert.Contains("Learning rate must be a number.", form.Markup);
            Assert.Contains("LoRA dropout must be at most 0.9.", form.Markup);
        });
    }

    [Fact]
    public void TrainingMethodForm_UnusualLearningRate_WarnsButSaves()
    {
        TrainingMethod? saved = null;
        var form = Render<TrainingMethodForm>(p => p.Add(f => f.OnSaved, (TrainingMethod m) => saved = m));

        form.Find("input[data-testid=method-name]").Input("aggressive");
        form.Find("input[data-testid=param-learning_rate]").Input("0.005");
        form.WaitForAssertion(() => Assert.Contains("above the typical range", form.Markup));
        form.Find("button[data-testid=save-method]").Click();

        form.WaitForAssertion(() => Assert.NotNull(saved));
        Assert.Equal(0.005, saved!.Defaults["learning_rate"]!.GetValue<double>());
    }

    [Fact]
    public void TrainingMethodForm_PpoChosen_ShowsRewardFunctionsAndNoRewardModel()
    {
        var form = Render<TrainingMethodForm>(p => p.Add(f => f.CopyFrom, new TrainingMethod { Name = "PPO", Algorithm = TrainingAlgorithm.Ppo }));

        Assert.Empty(form.FindAll("[data-testid=not-startable]"));
        Assert.NotNull(form.Find("[data-testid=param-ppo_epochs]"));
        Assert.NotNull(form.Find("[data-testid=param-vf_coef]"));
        Assert.Contains("Reward functions", form.Markup);
        Assert.DoesNotContain("Reward model", form.Markup);
    }

    [Fact]
    public void TrainingMethodForm_GrpoChosen_ShowsItsParametersAndNoRefusal()
    {
        var form = Render<TrainingMethodForm>(p => p.Add(f => f.CopyFrom, new TrainingMethod { Name = "GRPO", Algorithm = TrainingAlgorithm.Grpo }));

        Assert.Empty(form.FindAll("[data-testid=not-startable]"));
        Assert.NotNull(form.Find("[data-testid=param-num_generations]"));
        Assert.NotNull(form.Find("[data-testid=param-reward_functions]"));
    }
}
