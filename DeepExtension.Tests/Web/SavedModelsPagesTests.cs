using Bunit;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Tests.CompleteModels;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace DeepExtension.Tests.Web;

public class SavedModelsPagesTests : ComponentTestContext
{
    [Fact]
    public async Task CustomizedModelsPage_RegisteredAdapter_ListsItWithCardAndSaveDeployDelete()
    {
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);

        var page = Render<CustomizedModels>();

        page.WaitForAssertion(() => Assert.Equal(customized.Name, page.Find("[data-testid=customized-model-name]").TextContent.Trim()));
        Assert.Equal("tiny-qwen2", page.Find("[data-testid=customized-base-model]").TextContent.Trim());
        Assert.Equal("plus-one", page.Find("[data-testid=customized-train-name]").TextContent.Trim());
        Assert.NotNull(page.Find("[data-testid=save-customized-model]"));
        Assert.NotNull(page.Find("[data-testid=delete-customized-model]"));
        Assert.NotNull(page.Find("[data-testid=deploy-model]"));
        page.Find("[data-testid=toggle-card]").Click();
        page.WaitForAssertion(() => Assert.Equal(["Training", "Data lineage", "Evaluation", "Parameters"],
            page.FindAll("[data-testid=card-section-title]").Select(t => t.TextContent.Trim())));
        Assert.Contains("Best evaluation loss", page.Find("[data-testid=model-card]").TextContent);
    }

    [Fact]
    public async Task CustomizedModelsPage_SaveThenOk_ShowsGeneratedParametersAndQueuesTheSave()
    {
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);
        var dialogs = Render<MudDialogProvider>();
        var page = Render<CustomizedModels>();
        page.WaitForElement("[data-testid=save-customized-model]").Click();

        var name = dialogs.WaitForElement("[data-testid=save-output-name]").TextContent.Trim();
        Assert.Matches($"^{customized.Name}_s_[0-9a-f]{{4}}$", name);
        Assert.Contains("no standardized format", dialogs.Find("[data-testid=save-no-quantization]").TextContent);
        dialogs.Find("[data-testid=save-ok]").Click();

        page.WaitForAssertion(() =>
        {
            Assert.Equal("Queued", page.Find("[data-testid=save-status]").TextContent.Trim());
            Assert.Equal(name, page.Find("[data-testid=save-name]").TextContent.Trim());
        });
        var queued = Assert.Single(SaveScheduler.Queued);
        Assert.EndsWith("_s_" + queued.ToString("N")[..4], name);
    }

    [Fact]
    public async Task CustomizedModelsPage_DeleteWhileSaveQueued_ShowsWhyAndKeepsTheModel()
    {
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);
        var service = Services.GetRequiredService<CompleteModelService>();
        await service.SaveAsync(customized.Id);
        Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        var snackbars = Render<MudSnackbarProvider>();
        var page = Render<CustomizedModels>();

        page.WaitForElement("[data-testid=delete-customized-model]").Click();
        dialogs.WaitForElement(".mud-message-box__yes-button, .mud-dialog-actions button:last-child").Click();

        snackbars.WaitForAssertion(() => Assert.Contains("being saved", snackbars.Markup));
        Assert.Single(page.FindAll("[data-testid=customized-model-name]"));
    }

    [Fact]
    public async Task CompleteModelsPage_DeleteConfirmed_RemovesTheRowAndTheFolder()
    {
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);
        var service = Services.GetRequiredService<CompleteModelService>();
        var complete = await ModelSavingTests.RegisterFakeMergeAsync(Env, service, customized);
        var dialogs = Render<MudDialogProvider>();
        var page = Render<DeepExtension.Web.Components.Pages.CompleteModels>();
        page.WaitForAssertion(() => Assert.Equal(complete.Name, page.Find("[data-testid=complete-model-name]").TextContent.Trim()));
        page.Find("[data-testid=toggle-card]").Click();
        page.WaitForAssertion(() => Assert.Equal(["Saved model", "Architecture", "Weights", "Tokenizer", "Training", "Data lineage", "Evaluation", "Parameters"],
            page.FindAll("[data-testid=card-section-title]").Select(t => t.TextContent.Trim())));
        page.Find("[data-testid=card-raw-toggle]").Click();
        page.WaitForAssertion(() => Assert.Contains("\"training\"", page.Find("[data-testid=card-json]").TextContent));

        page.Find("[data-testid=delete-complete-model]").Click();
        dialogs.WaitForElement(".mud-message-box__yes-button, .mud-dialog-actions button:last-child").Click();

        page.WaitForElement("[data-testid=no-complete-models]");
        Assert.False(Directory.Exists(service.FolderOf(complete)));
    }
}
