using Bunit;
using DeepExtension.Core.Datasets;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Controls;
using DeepExtension.Web.Components.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using static DeepExtension.Tests.Support.DatasetFiles;

namespace DeepExtension.Tests.Web;

public class DatasetsPageTests : ComponentTestContext
{
    /// <summary>Uploads are copied, hashed and validated on the thread pool; under a loaded test run that takes a while.</summary>
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(15);

    private static readonly string Chat = Lines(
        """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello?"},{"role":"assistant","content":"Hi."}]}""",
        """{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}""");

    private async Task<DatasetUploadResult> CreateAsync(string name, string fileName, string content)
    {
        await using var stream = File.OpenRead(Env.WriteFile(fileName, content));
        var result = await Env.Datasets.CreateAsync(name, null, new DatasetUpload(stream, fileName));
        Assert.True(result.Succeeded, result.AllErrors);
        return result.Value!;
    }

    [Fact]
    public void DatasetsPage_NoDatasets_ExplainsHowToUploadOne()
    {
        var page = Render<Datasets>();

        page.WaitForAssertion(() => Assert.Contains("No datasets yet", page.Find("[data-testid=no-datasets]").TextContent), Slow);
    }

    [Fact]
    public async Task DatasetsPage_TwoDatasets_ListsLayoutLatestVersionRowsAndHash()
    {
        var chat = await CreateAsync("chat-set", "chat.jsonl", Chat);
        await CreateAsync("grpo-set", "grpo.csv", "prompt,answer\nq1,1\nq2,2\nq3,3\n");
        await using (var v2 = File.OpenRead(Env.WriteFile("chat2.jsonl", Chat + Chat)))
        {
            Assert.True((await Env.Datasets.AddVersionAsync(chat.Dataset.Id, new DatasetUpload(v2, "chat2.jsonl"))).Succeeded);
        }

        var page = Render<Datasets>();

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=dataset-name-cell]").Count), Slow);
        Assert.Equal(["chat-set", "grpo-set"], page.FindAll("[data-testid=dataset-name-cell]").Select(e => e.TextContent));
        Assert.Equal(["Chat (JSONL)", "Prompt + answer (CSV)"], page.FindAll("td[data-testid=format-cell]").Select(e => e.TextContent.Trim()));
        Assert.Equal(["v2", "v1"], page.FindAll("td[data-testid=version-cell]").Select(e => e.TextContent.Trim()));
        Assert.Equal(["4", "3"], page.FindAll("td[data-testid=rows-cell]").Select(e => e.TextContent.Trim()));
        Assert.Equal(["SFT", "Prompt + answer"], page.FindAll("td[data-testid=kind-cell]").Select(e => e.TextContent.Trim()));
        var latest = (await Env.Datasets.GetAsync(chat.Dataset.Id))!.LatestVersion!;
        Assert.Equal(latest.ContentSha256[..12], page.FindAll("[data-testid=hash-cell]")[0].TextContent);
    }

    [Fact]
    public async Task DatasetsPage_ExpandAndPreview_ShowsVersionsAndTheRowsAsChatBubbles()
    {
        await CreateAsync("chat-set", "chat.jsonl", Chat);
        var page = Render<Datasets>();
        page.WaitForElement("[data-testid=toggle-dataset]", Slow).Click();

        page.WaitForElement("[data-testid=preview-version]", Slow).Click();

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=preview-row]").Count), Slow);
        Assert.Single(page.FindAll("[data-testid=version-row]"));
        var bubbles = page.FindAll("[data-testid=bubble]");
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], bubbles.Select(b => b.GetAttribute("data-role")));
        Assert.Contains("Hello?", bubbles[1].TextContent);
    }

    [Fact]
    public void DatasetUploadForm_SubmittedEmpty_AsksForANameAndAFile()
    {
        var form = Render<DatasetUploadForm>();

        form.Find("button[data-testid=save-dataset]").Click();

        form.WaitForAssertion(() =>
        {
            Assert.Contains("The dataset name is required.", form.Markup);
            Assert.Contains("Choose a .jsonl, .json or .csv file to upload.", form.Find("[data-testid=file-errors]").TextContent);
        }, Slow);
    }

    [Fact]
    public void DatasetUploadForm_InvalidFile_ListsTheErrorsWithLineNumbers()
    {
        var form = Render<DatasetUploadForm>();

        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Lines(
            """{"instruction":"a","output":"b"}""",
            """{"instruction":"c"}""",
            """{"instruction":"d","output":""}"""), "broken.jsonl"));

        form.WaitForAssertion(() =>
        {
            var errors = form.Find("[data-testid=file-errors]").TextContent;
            Assert.Contains("line 2: missing \"output\"", errors);
            Assert.Contains("line 3: \"output\" is empty", errors);
        }, Slow);
        Assert.Contains("Alpaca", form.Find("[data-testid=detected-format]").TextContent);
    }

    [Fact]
    public async Task DatasetUploadForm_ValidFile_ShowsLayoutAndPreviewThenStoresVersionOne()
    {
        DatasetUploadResult? saved = null;
        var form = Render<DatasetUploadForm>(p => p.Add(f => f.OnSaved, EventCallback.Factory.Create<DatasetUploadResult>(this, r => saved = r)));
        form.Find("input[data-testid=dataset-name]").Input("support");

        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Chat, "support.jsonl"));

        form.WaitForAssertion(() => Assert.Contains("2 rows", form.Find("[data-testid=file-summary]").TextContent), Slow);
        Assert.Contains("Chat messages", form.Find("[data-testid=detected-format]").TextContent);
        Assert.Equal(2, form.FindAll("[data-testid=preview-row]").Count);
        Assert.Empty(form.FindAll("[data-testid=file-errors]"));

        form.Find("button[data-testid=save-dataset]").Click();

        form.WaitForAssertion(() => Assert.NotNull(saved), Slow);
        Assert.True(saved!.IsNew);
        var stored = Assert.Single(await Env.Datasets.ListAsync());
        Assert.Equal("support", stored.Name);
        Assert.Equal(2, stored.LatestVersion!.RowCount);
        Assert.Empty(Directory.GetFiles(Env.Datasets.IncomingFolder));
    }

    [Fact]
    public async Task DatasetUploadForm_NameAlreadyUsed_ShowsTheMessageOnTheNameField()
    {
        await CreateAsync("Support", "a.jsonl", Chat);
        var form = Render<DatasetUploadForm>();
        form.Find("input[data-testid=dataset-name]").Input("support");
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Chat, "b.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);

        form.Find("button[data-testid=save-dataset]").Click();

        form.WaitForAssertion(() => Assert.Contains("already used by another dataset", form.Markup), Slow);
        // Beside the button the user just pressed too (the name field may be scrolled out of view), naming real controls.
        Assert.Contains("already used by another dataset", form.Find("[data-testid=save-errors]").TextContent);
        Assert.Contains("choose it in the \"Dataset\" list", form.Markup);
        Assert.DoesNotContain("Add a version", form.Markup);
        Assert.Single(await Env.Datasets.ListAsync());
    }

    [Fact]
    public async Task DatasetUploadForm_ExistingDatasetWithTheSameFile_SaysItIsIdenticalAndAddsNoVersion()
    {
        var created = await CreateAsync("support", "a.jsonl", Chat);
        DatasetUploadResult? saved = null;
        var form = Render<DatasetUploadForm>(p => p
            .Add(f => f.Datasets, [created.Dataset])
            .Add(f => f.TargetDatasetId, created.Dataset.Id)
            .Add(f => f.OnSaved, EventCallback.Factory.Create<DatasetUploadResult>(this, r => saved = r)));
        Assert.Empty(form.FindAll("input[data-testid=dataset-name]"));
        Assert.Contains("Add version", form.Find("button[data-testid=save-dataset]").TextContent);

        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Chat, "again.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);
        form.Find("button[data-testid=save-dataset]").Click();

        form.WaitForAssertion(() => Assert.NotNull(saved), Slow);
        Assert.False(saved!.IsNew);
        Assert.Equal("The upload is identical to version 1 of support; no new version was created.", saved.Message);
        Assert.Single((await Env.Datasets.GetAsync(created.Dataset.Id))!.Versions);
    }

    [Fact]
    public void DatasetUploadForm_SecondFileSplitWithoutAFile_AsksForIt()
    {
        var form = Render<DatasetUploadForm>();
        form.Find("input[data-testid=dataset-name]").Input("x");
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Chat, "a.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);

        form.Find("input[data-testid=split-file]").Click();
        form.WaitForElement("[data-testid=validation-file]", Slow);
        form.Find("button[data-testid=save-dataset]").Click();

        form.WaitForAssertion(() => Assert.Contains("Choose the validation file, or pick another split.", form.Find("[data-testid=validation-errors]").TextContent), Slow);
    }

    [Fact]
    public void DatasetUploadForm_UserPicksAnotherLayout_ChecksTheFileAgainstIt()
    {
        var form = Render<DatasetUploadForm>();
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Lines("""{"instruction":"a","output":"b"}"""), "a.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);
        Assert.Empty(form.FindAll("[data-testid=file-errors]"));

        form.Find("input[data-testid=format-PromptAnswer]").Click();

        form.WaitForAssertion(() => Assert.Contains("line 1: this row is in the Alpaca layout, not Prompt + answer",
            form.Find("[data-testid=file-errors]").TextContent), Slow);
    }

    [Fact]
    public async Task DatasetUploadForm_PercentageSplit_IsStoredWithTheVersion()
    {
        DatasetUploadResult? saved = null;
        var form = Render<DatasetUploadForm>(p => p.Add(f => f.OnSaved, EventCallback.Factory.Create<DatasetUploadResult>(this, r => saved = r)));
        form.Find("input[data-testid=dataset-name]").Input("split");
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Alpaca(40), "a.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);

        form.Find("input[data-testid=split-percent]").Click();
        form.WaitForElement("input[data-testid=validation-percent]", Slow).Input("25");
        form.WaitForAssertion(() => Assert.Contains("of 40 rows go to validation", form.Find("[data-testid=split-count]").TextContent), Slow);
        form.Find("button[data-testid=save-dataset]").Click();

        form.WaitForAssertion(() => Assert.NotNull(saved), Slow);
        Assert.Equal(25, (await Env.Datasets.ListAsync()).Single().LatestVersion!.ValidationPercent);
    }

    [Fact]
    public void DatasetUploadForm_FileWithUnsupportedExtension_IsRefusedBeforeUpload()
    {
        var form = Render<DatasetUploadForm>();

        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("hello", "notes.txt"));

        form.WaitForAssertion(() => Assert.Contains("notes.txt: use a .jsonl, .json or .csv file.", form.Find("[data-testid=file-errors]").TextContent), Slow);
    }

    /// <summary>A JSON Lines file of <paramref name="rows"/> Alpaca rows.</summary>
    private static string Alpaca(int rows) =>
        Lines([.. Enumerable.Range(1, rows).Select(i => $$"""{"instruction":"What is {{i}} + 1?","output":"{{i + 1}}"}""")]);

    private static string Sha256(string content) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(content)));

    [Fact]
    public void DatasetUploadForm_FileWithAnInvalidLine7_CountsValidRowsNamesTheFailedLineAndDisablesSaveWithTheReason()
    {
        var lines = Enumerable.Range(1, 12).Select(i => $$"""{"instruction":"q{{i}}","output":"a{{i}}"}""").ToArray();
        lines[6] = """{"instruction":"q7"}""";
        var form = Render<DatasetUploadForm>();
        form.Find("input[data-testid=dataset-name]").Input("twelve");

        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Lines(lines), "twelve.jsonl"));

        form.WaitForAssertion(() => Assert.Contains("11 valid rows · 1 line failed", form.Find("[data-testid=file-summary]").TextContent), Slow);
        Assert.Contains("line 7: missing \"output\"", form.Find("[data-testid=file-errors]").TextContent);
        Assert.True(form.Find("button[data-testid=save-dataset]").HasAttribute("disabled"));
        Assert.Contains("1 line of twelve.jsonl failed the checks", form.Find("[data-testid=save-blocked]").TextContent);
    }

    [Fact]
    public void DatasetUploadForm_ValidFile_KeepsSaveEnabledWithNoReason()
    {
        var form = Render<DatasetUploadForm>();
        form.Find("input[data-testid=dataset-name]").Input("fine");

        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Alpaca(12), "fine.jsonl"));

        form.WaitForAssertion(() => Assert.Contains("12 rows", form.Find("[data-testid=file-summary]").TextContent), Slow);
        Assert.False(form.Find("button[data-testid=save-dataset]").HasAttribute("disabled"));
        Assert.Empty(form.FindAll("[data-testid=save-blocked]"));
    }

    [Fact]
    public async Task DatasetUploadForm_NameOfAnExistingDataset_SaysSoBesideTheNameAndOffersANewVersionOfIt()
    {
        var existing = await CreateAsync("Support", "a.jsonl", Chat);
        var form = Render<DatasetUploadForm>(p => p.Add(f => f.Datasets, [existing.Dataset]));

        form.Find("input[data-testid=dataset-name]").Input("support");

        form.WaitForAssertion(() => Assert.Contains("The name \"Support\" is already used by another dataset.", form.Markup), Slow);
        Assert.Contains("Support already exists.", form.Find("[data-testid=name-taken]").TextContent);
        Assert.True(form.Find("button[data-testid=save-dataset]").HasAttribute("disabled"));
        Assert.Contains("\"Support\" exists", form.Find("[data-testid=save-blocked]").TextContent);

        form.Find("button[data-testid=use-existing-dataset]").Click();

        form.WaitForAssertion(() => Assert.Contains("Add version", form.Find("button[data-testid=save-dataset]").TextContent), Slow);
        Assert.Empty(form.FindAll("input[data-testid=dataset-name]"));
        Assert.Empty(form.FindAll("[data-testid=save-blocked]"));
    }

    [Fact]
    public void DatasetUploadForm_SmallShareOf40Rows_ShowsTheRealValidationRowsAndRefusesTooFew()
    {
        var content = Alpaca(40);
        var few = DatasetSplit.CountValidation(40, 5, Sha256(content));
        Assert.InRange(few, 0, DatasetService.MinValidationRows - 1);
        var enough = DatasetSplit.CountValidation(40, 40, Sha256(content));
        Assert.True(enough >= DatasetService.MinValidationRows);
        var form = Render<DatasetUploadForm>();
        form.Find("input[data-testid=dataset-name]").Input("forty");
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(content, "forty.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);
        form.Find("input[data-testid=split-percent]").Click();

        form.WaitForElement("input[data-testid=validation-percent]", Slow).Input("5");

        form.WaitForAssertion(() => Assert.Equal($"{few} of 40 rows go to validation, {40 - few} stay for training.",
            form.Find("[data-testid=split-count]").TextContent.Trim()), Slow);
        Assert.True(form.Find("button[data-testid=save-dataset]").HasAttribute("disabled"));
        Assert.Contains($"5 % of 40 rows puts {few} row", form.Find("[data-testid=save-blocked]").TextContent);
        Assert.Contains($"at least {DatasetService.MinValidationRows} are needed", form.Find("[data-testid=save-blocked]").TextContent);

        form.Find("input[data-testid=validation-percent]").Input("40");

        form.WaitForAssertion(() => Assert.StartsWith($"{enough} of 40 rows go to validation", form.Find("[data-testid=split-count]").TextContent.Trim()), Slow);
        Assert.False(form.Find("button[data-testid=save-dataset]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task DatasetUploadForm_NewVersion_StartsFromThePreviousVersionsSplit()
    {
        await using var stream = File.OpenRead(Env.WriteFile("forty.jsonl", Alpaca(40)));
        var created = await Env.Datasets.CreateAsync("forty", null, new DatasetUpload(stream, "forty.jsonl", ValidationPercent: 25));
        Assert.True(created.Succeeded, created.AllErrors);

        var form = Render<DatasetUploadForm>(p => p
            .Add(f => f.Datasets, [created.Value!.Dataset])
            .Add(f => f.TargetDatasetId, created.Value.Dataset.Id));
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Alpaca(44), "forty-four.jsonl"));
        form.WaitForElement("[data-testid=file-summary]", Slow);

        Assert.Equal("25", form.Find("input[data-testid=validation-percent]").GetAttribute("value"));
        Assert.Contains("of 44 rows go to validation", form.Find("[data-testid=split-count]").TextContent);
    }
}
