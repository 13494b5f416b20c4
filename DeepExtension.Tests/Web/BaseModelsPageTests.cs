using Bunit;
using DeepExtension.Core.BaseModels;
using DeepExtension.Web.Components.Controls;
using DeepExtension.Web.Components.Pages;

namespace DeepExtension.Tests.Web;

public class BaseModelsPageTests : ComponentTestContext
{
    [Fact]
    public async Task BaseModelsPage_TwoRegisteredModels_ListsThemWithTheirCards()
    {
        await Env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "Tiny Qwen2", Env.AddModelFolder("tiny-qwen2"), null));
        await Env.BaseModels.CreateAsync(new BaseModelInput("tiny-llama", "Tiny Llama", Env.AddModelFolder("tiny-llama"), null));

        var page = Render<BaseModels>();

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=technical-name-cell]").Count));
        var names = page.FindAll("[data-testid=technical-name-cell]").Select(e => e.TextContent).ToList();
        Assert.Equal(["tiny-llama", "tiny-qwen2"], names);
        var architectures = page.FindAll("td[data-testid=architecture-cell]").Select(e => e.TextContent.Trim()).ToList();
        Assert.Equal(["LlamaForCausalLM", "Qwen2ForCausalLM"], architectures);
        Assert.Equal("4 / 2", page.FindAll("td[data-testid=heads-cell]")[1].TextContent.Trim());
        Assert.Equal("512", page.FindAll("td[data-testid=vocab-cell]")[1].TextContent.Trim());
        Assert.Contains(Env.Directories.ModelsRoot, page.Find("[data-testid=models-root]").TextContent);
    }

    [Fact]
    public void BaseModelsPage_NoModels_ExplainsHowToAddOne()
    {
        var page = Render<BaseModels>();

        page.WaitForAssertion(() => Assert.Contains("No base models yet", page.Find("[data-testid=no-base-models]").TextContent));
    }

    [Fact]
    public async Task BaseModelsPage_ExpandRow_ShowsTheFullModelCard()
    {
        await Env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "Tiny Qwen2", Env.AddModelFolder("tiny-qwen2"), null));
        var page = Render<BaseModels>();
        page.WaitForElement("[data-testid=toggle-card]");

        page.Find("[data-testid=toggle-card]").Click();

        var card = page.WaitForElement("[data-testid=model-card]");
        Assert.Contains("Qwen2ForCausalLM", card.TextContent);
        Assert.Contains("Tied embeddings", card.TextContent);
        Assert.Contains("transformers-5", card.TextContent);
    }

    [Fact]
    public async Task BaseModelsPage_ModelFromTheHub_CardShowsItsRepositoryAndCommit()
    {
        var created = await Env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "Tiny Qwen2", Env.AddModelFolder("tiny-qwen2"), null));
        var download = new DeepExtension.Core.HubDownloads.HubDownload
        {
            Id = Guid.NewGuid(),
            Repository = "deepx-test/tiny-qwen2",
            Revision = "main",
            Commit = "0123456789abcdef0123456789abcdef01234567",
            TargetPath = "tiny-qwen2",
            TechnicalName = "tiny-qwen2",
            ModelName = "Tiny Qwen2",
            Architecture = "Qwen2ForCausalLM",
            BaseModelId = created.Value!.Id,
            CreatedAtUtc = DateTime.UtcNow,
        };
        download.Enqueue(DateTime.UtcNow);
        download.Start(DateTime.UtcNow);
        download.Finish(DeepExtension.Core.Work.WorkStatus.Succeeded, null, DateTime.UtcNow);
        await using (var db = await Env.DbFactory.CreateDbContextAsync())
        {
            db.HubDownloads.Add(download);
            await db.SaveChangesAsync();
        }
        var page = Render<BaseModels>();
        page.WaitForElement("[data-testid=toggle-card]");

        page.Find("[data-testid=toggle-card]").Click();

        page.WaitForElement("[data-testid=model-card]");
        Assert.Equal("deepx-test/tiny-qwen2", page.Find("[data-testid=card-hugging-face-repository]").TextContent.Trim());
        Assert.Equal("0123456789abcdef0123456789abcdef01234567", page.Find("[data-testid=card-commit]").TextContent.Trim());
        Assert.Equal("main", page.Find("[data-testid=card-revision]").TextContent.Trim());
    }

    [Fact]
    public void BaseModelForm_SubmittedEmpty_ShowsAMessageOnEveryRequiredField()
    {
        var form = Render<BaseModelForm>();

        form.Find("button[data-testid=save-base-model]").Click();

        form.WaitForAssertion(() =>
        {
            Assert.Contains("The technical name is required.", form.Markup);
            Assert.Contains("The model name is required.", form.Markup);
            Assert.Contains("The model path is required.", form.Markup);
        });
    }

    [Fact]
    public async Task BaseModelForm_DuplicateNamesAndEscapingPath_ShowsEachRuleOnItsField()
    {
        await Env.BaseModels.CreateAsync(new BaseModelInput("tiny-qwen2", "Tiny Qwen2", Env.AddModelFolder("tiny-qwen2"), null));
        var form = Render<BaseModelForm>();

        form.Find("input[data-testid=technical-name]").Input("TINY-QWEN2");
        form.Find("input[data-testid=model-name]").Input("Tiny Qwen2");
        form.Find("input[data-testid=model-path]").Input("../../etc");
        form.Find("button[data-testid=save-base-model]").Click();

        form.WaitForAssertion(() =>
        {
            Assert.Contains("The technical name \"TINY-QWEN2\" is already used by another base model.", form.Markup);
            Assert.Contains("The model name \"Tiny Qwen2\" is already used by another base model.", form.Markup);
            Assert.Contains("may not contain \"..\"", form.Markup);
        });
        Assert.Single(await Env.BaseModels.ListAsync());
    }

    [Fact]
    public async Task BaseModelForm_ValidInput_SavesAndReportsTheModel()
    {
        var path = Env.AddModelFolder("tiny-llama");
        BaseModel? saved = null;
        var form = Render<BaseModelForm>(p => p.Add(f => f.OnSaved, (BaseModel m) => saved = m));

        form.Find("input[data-testid=technical-name]").Input("tiny-llama");
        form.Find("input[data-testid=model-name]").Input("Tiny Llama");
        form.Find("input[data-testid=model-path]").Input(path);
        form.Find("button[data-testid=check-folder]").Click();
        form.WaitForAssertion(() => Assert.Contains("LlamaForCausalLM", form.Find("[data-testid=model-card]").TextContent));
        form.Find("button[data-testid=save-base-model]").Click();

        form.WaitForAssertion(() => Assert.NotNull(saved));
        Assert.Equal("tiny-llama", Assert.Single(await Env.BaseModels.ListAsync()).TechnicalName);
    }
}
