using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>The pages in a real Chromium against the real console over loopback.</summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserTests : ConsoleBrowserTest
{
    [Fact]
    public async Task BaseModelsPage_AddTinyQwen2ThroughTheDialog_ShowsItsCardInTheList()
    {
        var path = Env.AddModelFolder("tiny-qwen2");
        var page = await Chromium.OpenAsync(Host.Address, "/base-models");
        await Assertions.Expect(page.GetByTestId("no-base-models")).ToBeVisibleAsync();

        await page.GetByTestId("add-base-model").ClickAsync();
        await page.GetByTestId("technical-name").FillAsync("tiny-qwen2");
        await page.GetByTestId("model-name").FillAsync("Tiny Qwen2");
        await page.GetByTestId("model-path").FillAsync(path);
        await page.GetByTestId("check-folder").ClickAsync();
        await Assertions.Expect(page.GetByTestId("model-card")).ToContainTextAsync("Qwen2ForCausalLM");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "base-models-add.png") });
        await page.GetByTestId("save-base-model").ClickAsync();

        var row = page.Locator("tr", new() { Has = page.GetByTestId("technical-name-cell") });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row).ToContainTextAsync("Qwen2ForCausalLM");
        await Assertions.Expect(row.Locator("td[data-testid=heads-cell]")).ToHaveTextAsync("4 / 2");
        await Assertions.Expect(row.Locator("td[data-testid=vocab-cell]")).ToHaveTextAsync("512");
        await Assertions.Expect(row.Locator("td[data-testid=layers-cell]")).ToHaveTextAsync("2");
        await page.GetByTestId("toggle-card").ClickAsync();
        await Assertions.Expect(page.GetByTestId("model-card")).ToContainTextAsync("Tied embeddings");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "base-models.png"), FullPage = true });
    }

    [Fact]
    public async Task CustomizedModelsPage_SaveAndConfirm_ReachesSucceededAndTheCompleteModelIsListed()
    {
        var customized = await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);
        var page = await Chromium.OpenAsync(Host.Address, "/customized-models");
        await Assertions.Expect(page.GetByTestId("customized-model-name")).ToHaveTextAsync(customized.Name);

        // Under a loaded machine (training tests beside this one) the dialog can take a while: wait longer than the default.
        await page.GetByTestId("save-customized-model").ClickAsync();
        await Assertions.Expect(page.GetByTestId("save-output-name")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var name = (await page.GetByTestId("save-output-name").TextContentAsync())!.Trim();
        Assert.Matches($"^{customized.Name}_s_[0-9a-f]{{4}}$", name);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "customized-models-save.png") });
        await page.GetByTestId("save-ok").ClickAsync();

        await Assertions.Expect(page.GetByTestId("save-name")).ToHaveTextAsync(name, new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("save-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 120_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "customized-models.png"), FullPage = true });

        await page.GotoAsync(Host.Address + "/complete-models");
        // Prerendered buttons ignore clicks until the circuit is live (as Browser.OpenAsync waits for).
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await Assertions.Expect(page.GetByTestId("complete-model-name")).ToHaveTextAsync(name, new() { Timeout = 60_000 });
        await page.GetByTestId("toggle-card").ClickAsync();
        await Assertions.Expect(page.GetByTestId("model-card")).ToContainTextAsync("tiny-qwen2");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "complete-models.png"), FullPage = true });
        Assert.True(File.Exists(Path.Combine(Env.Directories.CompleteModels, name, "config.json")));
    }

    [Fact]
    public async Task BaseModelsPage_SaveWithEscapingPath_ShowsTheMessageAndKeepsTheDialogOpen()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/base-models");

        await page.GetByTestId("add-base-model").ClickAsync();
        await page.GetByTestId("technical-name").FillAsync("x");
        await page.GetByTestId("model-name").FillAsync("X");
        await page.GetByTestId("model-path").FillAsync("../../etc");
        await page.GetByTestId("save-base-model").ClickAsync();

        await Assertions.Expect(page.GetByText("may not contain \"..\"")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("technical-name")).ToHaveValueAsync("x");
    }

    [Fact]
    public async Task BaseModelsPage_EditThenDelete_UpdatesTheRowThenRemovesItButKeepsTheFiles()
    {
        var path = Env.AddModelFolder("tiny-llama");
        var service = Host.Services.GetRequiredService<BaseModelService>();
        Assert.True((await service.CreateAsync(new BaseModelInput("tiny-llama", "Tiny Llama", path, null))).Succeeded);
        var page = await Chromium.OpenAsync(Host.Address, "/base-models");

        await page.GetByTestId("edit-base-model").ClickAsync();
        await page.GetByTestId("model-name").FillAsync("Tiny Llama v2");
        await page.GetByTestId("deployment-template").FillAsync("{{ .Prompt }}");
        await page.GetByTestId("save-base-model").ClickAsync();
        await Assertions.Expect(page.Locator("tr", new() { HasText = "Tiny Llama v2" })).ToHaveCountAsync(1);
        Assert.Equal("{{ .Prompt }}", (await service.ListAsync()).Single().DeploymentTemplate);

        await page.GetByTestId("delete-base-model").ClickAsync();
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();

        await Assertions.Expect(page.GetByTestId("no-base-models")).ToBeVisibleAsync();
        Assert.Empty(await service.ListAsync());
        Assert.True(File.Exists(Path.Combine(Env.Directories.ModelsRoot, path, "model.safetensors")));
    }

    [Fact]
    public async Task DeploymentToolsPage_AddEnvironmentAndTestIt_ShowsTheOllamaVersion()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var page = await Chromium.OpenAsync(Host.Address, "/deployment-tools");

        await page.GetByTestId("add-environment").ClickAsync();
        await page.GetByTestId("environment-name").FillAsync("local");
        await page.GetByTestId("environment-url").FillAsync(ollama.BaseUrl);
        await page.GetByTestId("test-connection").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-result")).ToContainTextAsync($"Connected: Ollama {FakeOllamaServer.Version}");
        await page.GetByTestId("save-environment").ClickAsync();
        await page.GetByTestId("test-environment").ClickAsync();

        await Assertions.Expect(page.Locator("td[data-testid=connection-cell]")).ToContainTextAsync($"Ollama {FakeOllamaServer.Version}");
        var stored = Assert.Single(await Host.Services.GetRequiredService<DeploymentEnvironmentService>().ListAsync());
        Assert.True(stored.IsDefault);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "deployment-tools.png") });
    }

    [Fact]
    public async Task DeploymentToolsPage_UrlWithCredentialsAt1280And1440_ShownMaskedAndTheServerGetsThem()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.RequiredCredentials = "alice:s3cret-pw";
        var page = await Chromium.OpenAsync(Host.Address, "/deployment-tools");
        await page.GetByTestId("add-environment").ClickAsync();
        await page.GetByTestId("environment-name").FillAsync("behind-proxy");
        await page.GetByTestId("environment-url").FillAsync(ollama.BaseUrl.Replace("http://", "http://alice:s3cret-pw@"));
        await page.GetByTestId("save-environment").ClickAsync();

        var masked = ollama.BaseUrl.Replace("http://", "http://***@");
        await Assertions.Expect(page.GetByText(masked)).ToBeVisibleAsync();
        await page.GetByTestId("test-environment").ClickAsync();
        await Assertions.Expect(page.Locator("td[data-testid=connection-cell]")).ToContainTextAsync($"Ollama {FakeOllamaServer.Version}");
        Assert.Contains("GET /api/version", ollama.AuthenticatedRequests);
        Assert.DoesNotContain("s3cret", await page.ContentAsync());
        foreach (var width in new[] { 1280, 1440 })
        {
            await page.SetViewportSizeAsync(width, 900);
            await page.WaitForTimeoutAsync(300);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
                $"the Deployment Tools page is wider than the window at {width} px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, $"deployment-tools-credentials-{width}.png"), FullPage = true });
        }
    }

    [Fact]
    public async Task TrainingMethodsPage_CopyDpoWithOwnBeta_ListsTheCustomMethod()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/training-methods");
        await Assertions.Expect(page.GetByTestId("method-name-cell")).ToHaveCountAsync(4);

        await page.GetByTestId("copy-method").Nth(1).ClickAsync();
        await page.GetByTestId("method-name").FillAsync("DPO gentle");
        await page.GetByTestId("param-dpo_beta").FillAsync("0.05");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "training-method-form.png") });
        await page.GetByTestId("save-method").ClickAsync();

        await Assertions.Expect(page.GetByTestId("method-name-cell")).ToHaveCountAsync(5);
        await Assertions.Expect(page.GetByTestId("parameter-schema").Locator("[data-testid=value-dpo_beta]")).ToHaveTextAsync("0.05");
        var stored = (await Host.Services.GetRequiredService<TrainingMethodService>().ListAsync()).Single(m => !m.IsBuiltIn);
        Assert.Equal(TrainingAlgorithm.Dpo, stored.Algorithm);
        Assert.Equal(0.05, stored.Defaults["dpo_beta"]!.GetValue<double>());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "training-methods.png"), FullPage = true });
    }

    [Fact]
    public async Task ModelTraining_RunTheTrainFromTheForm_ListShowsItSucceedAndCopyPrefillsTheForm()
    {
        await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = await Chromium.OpenAsync(Host.Address, "/model-training");
        await Assertions.Expect(page.GetByTestId("no-runs")).ToBeVisibleAsync();

        await page.GetByTestId("start-new-train").ClickAsync();
        await page.Locator("[data-interactive=true]").WaitForAsync();
        await page.GetByTestId("train-name").FillAsync("ui-run");
        await page.GetByTestId("param-num_epochs").FillAsync("2");
        await page.GetByTestId("param-learning_rate").FillAsync("0.005");
        await Assertions.Expect(page.GetByTestId("param-max_tokens")).ToHaveValueAsync("256");
        await page.GetByTestId("param-max_tokens").FillAsync("64");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "new-train.png"), FullPage = true });
        await page.GetByTestId("run-the-train").ClickAsync();

        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/model-training$"));
        await Assertions.Expect(page.GetByTestId("run-name")).ToHaveTextAsync("ui-run");
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("Succeeded", new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("run-progress")).ToContainTextAsync("step 10 / 10");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "model-training.png") });

        await page.GetByTestId("copy-run").ClickAsync();
        await Assertions.Expect(page.GetByTestId("copied-from")).ToContainTextAsync("ui-run");
        await Assertions.Expect(page.GetByTestId("train-name")).ToHaveValueAsync("ui-run-copy");
        await Assertions.Expect(page.GetByTestId("param-num_epochs")).ToHaveValueAsync("2");
        await Assertions.Expect(page.GetByTestId("param-learning_rate")).ToHaveValueAsync("0.005");
        await Assertions.Expect(page.GetByTestId("param-max_tokens")).ToHaveValueAsync("64");
        var customized = await Host.Services.GetRequiredService<DeepExtension.Core.CustomizedModels.CustomizedModelService>().ListAsync();
        Assert.Matches(@"^tiny-qwen2_ui-run_\d{8}_[0-9a-f]{4}$", Assert.Single(customized).Name);
    }

    [Fact]
    public async Task TrainDetails_RunningTrain_GainsPointsAndLogLinesLiveThenCancels()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var runs = Host.Services.GetRequiredService<TrainingRunService>();
        var parameters = TrainingHost.EndlessSft(maxTokens: 64);
        var run = (await runs.StartAsync(new NewTrainRequest("live", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/{run.Id}");

        var step = page.GetByTestId("latest-step");
        await Assertions.Expect(step).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var first = await step.TextContentAsync() ?? "0";
        await Assertions.Expect(step).Not.ToHaveTextAsync(first, new() { Timeout = 5_000 });
        await Assertions.Expect(page.GetByTestId("used-num_epochs")).ToHaveTextAsync("1000");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "train-overview.png"), FullPage = true });

        await page.GetByRole(AriaRole.Tab, new() { Name = "Train Log" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("log-lines")).ToContainTextAsync("trainable parameters");
        await page.GetByTestId("log-search").FillAsync("LoRA r=");
        await Assertions.Expect(page.GetByTestId("log-lines").Locator("div")).ToHaveCountAsync(1);
        using (var client = Host.CreateLoopbackClient())
        {
            var log = await client.GetStringAsync($"/api/runs/{run.Id}/log");
            Assert.Contains("INFO    Run live (SFT (LoRA)) on cpu", log);
        }

        await page.GetByTestId("details-cancel").ClickAsync();
        // Cancelling asks first, naming what stays (the checkpoint Resume continues from).
        await Assertions.Expect(page.GetByTestId("confirm-stays")).ToContainTextAsync("Resume continues from it");
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Assertions.Expect(page.GetByTestId("details-status")).ToHaveTextAsync("Cancelled", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("details-resume")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task TrainDetails_EvaluationData_LossChartGainsPointsLiveWithoutReload()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(Env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var runs = Host.Services.GetRequiredService<TrainingRunService>();
        var parameters = TrainingHost.EndlessSft(maxTokens: 64);
        var run = (await runs.StartAsync(new NewTrainRequest("charted", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;
        var page = await Chromium.OpenAsync(Host.Address, $"/model-training/{run.Id}");

        await page.GetByRole(AriaRole.Tab, new() { Name = "Evaluation Data" }).ClickAsync();
        var loss = page.GetByTestId("chart-loss");
        await Assertions.Expect(loss.Locator(".apexcharts-canvas")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("chart-learning-rate")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("chart-dpo-rewards")).ToHaveCountAsync(0);
        var chartId = await loss.Locator("[data-chart-id]").GetAttributeAsync("data-chart-id");

        async Task<int> LossPointsAsync() =>
            await page.EvaluateAsync<int>("([id, series]) => window.deepxCharts?.pointCount(id, series) ?? 0", new[] { chartId, "loss" });

        var deadline = DateTime.UtcNow.AddSeconds(60);
        var first = 0;
        while ((first = await LossPointsAsync()) == 0 && DateTime.UtcNow < deadline) await Task.Delay(250);
        Assert.True(first > 0, "the loss series never received a point");
        var later = first;
        deadline = DateTime.UtcNow.AddSeconds(30);
        while ((later = await LossPointsAsync()) <= first && DateTime.UtcNow < deadline) await Task.Delay(250);
        Assert.True(later > first, $"the loss series stayed at {first} point(s)");
        Assert.True(await page.EvaluateAsync<int>("([id, series]) => window.deepxCharts.renderedCount(id, series)", new[] { chartId, "loss" }) > 0);

        // Controls act on the chart in place: smoothing and the x axis keep the raw points.
        await page.GetByTestId("chart-x-axis").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "Epoch" }).ClickAsync();
        await Assertions.Expect(loss.Locator(".apexcharts-xaxis-title")).ToContainTextAsync("Epoch");
        Assert.True(await LossPointsAsync() >= later);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "evaluation-data.png"), FullPage = true });

        await runs.CancelAsync(run.Id);
        await Assertions.Expect(page.GetByTestId("details-status")).ToHaveTextAsync("Cancelled", new() { Timeout = 60_000 });
    }

    [Fact]
    public async Task DatasetsPage_UploadJsonlThroughTheDialog_ListsItWithItsRowCount()
    {
        var rows = Enumerable.Range(1, 12).Select(i =>
            $$"""{"messages":[{"role":"user","content":"What is {{i}} + {{i}}?"},{"role":"assistant","content":"{{2 * i}}"}]}""");
        var file = Env.WriteFile("arithmetic.jsonl", string.Join("\n", rows) + "\n");
        var page = await Chromium.OpenAsync(Host.Address, "/datasets");
        await Assertions.Expect(page.GetByTestId("no-datasets")).ToBeVisibleAsync();

        await page.GetByTestId("upload-dataset").ClickAsync();
        await page.GetByTestId("dataset-name").FillAsync("arithmetic");
        await ChooseFileAsync(page, file, "file-summary");
        await Assertions.Expect(page.GetByTestId("file-summary")).ToContainTextAsync("12 rows");
        await Assertions.Expect(page.GetByTestId("detected-format")).ToContainTextAsync("Chat messages");
        await Assertions.Expect(page.GetByTestId("preview-row")).ToHaveCountAsync(5);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "datasets-upload.png") });
        await page.GetByTestId("save-dataset").ClickAsync();

        var row = page.Locator("tr", new() { Has = page.GetByTestId("dataset-name-cell") });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.Locator("td[data-testid=rows-cell]")).ToHaveTextAsync("12");
        await Assertions.Expect(row.Locator("td[data-testid=version-cell]")).ToHaveTextAsync("v1");
        await Assertions.Expect(page.GetByText("arithmetic version 1 stored")).ToBeVisibleAsync();
        await page.GetByTestId("toggle-dataset").ClickAsync();
        await page.GetByTestId("preview-version").ClickAsync();
        await Assertions.Expect(page.GetByTestId("preview-row")).ToHaveCountAsync(10);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "datasets.png"), FullPage = true });

        var stored = Assert.Single(await Host.Services.GetRequiredService<DatasetService>().ListAsync());
        Assert.Equal(12, stored.LatestVersion!.RowCount);
    }

    [Fact]
    public async Task DatasetsPage_AddVersionWithAChangedFileThenDelete_ShowsVersionTwoThenRemovesEverything()
    {
        var service = Host.Services.GetRequiredService<DatasetService>();
        var v1 = "prompt,answer\n" + string.Concat(Enumerable.Range(1, 150).Select(i => $"{i}+{i}?,{2 * i}\n"));
        await using (var stream = File.OpenRead(Env.WriteFile("math.csv", v1)))
        {
            Assert.True((await service.CreateAsync("math", null, new DatasetUpload(stream, "math.csv"))).Succeeded);
        }
        var changed = Env.WriteFile("math-v2.csv", v1 + "0+0?,0\n");
        var page = await Chromium.OpenAsync(Host.Address, "/datasets");

        await page.GetByTestId("add-version").ClickAsync();
        await ChooseFileAsync(page, changed, "file-summary");
        await Assertions.Expect(page.GetByTestId("detected-format")).ToContainTextAsync("Prompt + reference answer");
        await page.GetByTestId("split-percent").ClickAsync();
        await page.GetByTestId("save-dataset").ClickAsync();

        var row = page.Locator("tr", new() { Has = page.GetByTestId("dataset-name-cell") });
        await Assertions.Expect(row.Locator("td[data-testid=version-cell]")).ToHaveTextAsync("v2");
        await Assertions.Expect(row.Locator("td[data-testid=rows-cell]")).ToHaveTextAsync("151");
        await page.GetByTestId("toggle-dataset").ClickAsync();
        await Assertions.Expect(page.GetByTestId("version-row")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("version-row").First).ToContainTextAsync("10% of rows");
        var versions = (await service.ListAsync()).Single().Versions;
        Assert.Equal([0, 10], versions.Select(v => v.ValidationPercent));

        await page.GetByTestId("delete-dataset").ClickAsync();
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();

        await Assertions.Expect(page.GetByTestId("no-datasets")).ToBeVisibleAsync();
        Assert.Empty(await service.ListAsync());
        Assert.Empty(Directory.GetFiles(Env.Directories.Datasets, "*.csv", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task DatasetsPage_UploadInvalidFile_ListsLineNumberedErrorsAndStoresNothing()
    {
        var file = Env.WriteFile("broken.jsonl", "{\"prompt\":\"q\",\"answer\":\"1\"}\n{\"prompt\":\"q\"}\nnot json\n");
        var page = await Chromium.OpenAsync(Host.Address, "/datasets");

        await page.GetByTestId("upload-dataset").ClickAsync();
        await page.GetByTestId("dataset-name").FillAsync("broken");
        await ChooseFileAsync(page, file, "file-errors");
        await Assertions.Expect(page.GetByTestId("file-errors")).ToContainTextAsync("line 2: missing \"answer\" (or \"reference\" / \"solution\")");
        await Assertions.Expect(page.GetByTestId("file-errors")).ToContainTextAsync("line 3: invalid JSON");
        await Assertions.Expect(page.GetByTestId("file-summary")).ToContainTextAsync("1 valid row · 2 lines failed");

        // Saving cannot work: the button is disabled and says why beside itself, in view where the user would click.
        await Assertions.Expect(page.GetByTestId("save-dataset")).ToBeDisabledAsync();
        await Assertions.Expect(page.GetByTestId("save-blocked")).ToContainTextAsync("2 lines of broken.jsonl failed the checks");
        await Assertions.Expect(page.GetByTestId("save-blocked")).ToBeInViewportAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "datasets-upload-invalid.png") });
        Assert.Empty(await Host.Services.GetRequiredService<DatasetService>().ListAsync());
    }

    /// <summary>
    /// Sets the upload dialog's file input once Blazor's InputFile has initialised it (its script marks the element);
    /// a change before that would be lost.
    /// </summary>
    private static async Task ChooseFileAsync(IPage page, string file, string resultTestId)
    {
        const string input = "[data-testid=dataset-file] input[type=file]";
        await page.WaitForFunctionAsync($"document.querySelector('{input}')?._blazorInputFileNextFileId !== undefined");
        await page.Locator(input).SetInputFilesAsync(file);
        try
        {
            await page.GetByTestId(resultTestId).WaitForAsync();
        }
        catch (TimeoutException)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "upload-failure.png") });
            await File.WriteAllTextAsync(Path.Combine(Browser.ScreenshotDirectory, "upload-failure.html"), await page.ContentAsync());
            throw;
        }
    }

    [Fact]
    public async Task Layout_ThemeToggle_SwitchesToDarkMode()
    {
        var page = await Chromium.OpenAsync(Host.Address, "/base-models");
        var background = () => page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        await Assertions.Expect(page.GetByTestId("theme-toggle")).ToBeVisibleAsync();
        var light = await background();

        await page.GetByTestId("theme-toggle").ClickAsync();

        await page.WaitForFunctionAsync($"getComputedStyle(document.body).backgroundColor !== '{light}'");
        Assert.NotEqual(light, await background());
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserCollection
{
    public const string Name = "browser";
}
