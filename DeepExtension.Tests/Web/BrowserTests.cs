using DeepExtension.Core.BaseModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Training;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DeepExtension.Tests.Web;

/// <summary>The pages in a real Chromium against the real console over loopback.</summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserTests : IAsyncLifetime
{
    private TestEnvironment _env = null!;
    private ConsoleHost _host = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync(migrate: false);
        _host = ConsoleHost.Start(_env.DataRoot);
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _host.DisposeAsync();
        await _env.DisposeAsync();
    }

    [Fact]
    public async Task BaseModelsPage_AddTinyQwen2ThroughTheDialog_ShowsItsCardInTheList()
    {
        var path = _env.AddModelFolder("tiny-qwen2");
        var page = await _browser.OpenAsync(_host.Address, "/base-models");
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
    public async Task BaseModelsPage_SaveWithEscapingPath_ShowsTheMessageAndKeepsTheDialogOpen()
    {
        var page = await _browser.OpenAsync(_host.Address, "/base-models");

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
        var path = _env.AddModelFolder("tiny-llama");
        var service = _host.Services.GetRequiredService<BaseModelService>();
        Assert.True((await service.CreateAsync(new BaseModelInput("tiny-llama", "Tiny Llama", path, null))).Succeeded);
        var page = await _browser.OpenAsync(_host.Address, "/base-models");

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
        Assert.True(File.Exists(Path.Combine(_env.Directories.ModelsRoot, path, "model.safetensors")));
    }

    [Fact]
    public async Task DeploymentToolsPage_AddEnvironmentAndTestIt_ShowsTheOllamaVersion()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var page = await _browser.OpenAsync(_host.Address, "/deployment-tools");

        await page.GetByTestId("add-environment").ClickAsync();
        await page.GetByTestId("environment-name").FillAsync("local");
        await page.GetByTestId("environment-url").FillAsync(ollama.BaseUrl);
        await page.GetByTestId("test-connection").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-result")).ToContainTextAsync($"Connected: Ollama {FakeOllamaServer.Version}");
        await page.GetByTestId("save-environment").ClickAsync();
        await page.GetByTestId("test-environment").ClickAsync();

        await Assertions.Expect(page.Locator("td[data-testid=connection-cell]")).ToContainTextAsync($"Ollama {FakeOllamaServer.Version}");
        var stored = Assert.Single(await _host.Services.GetRequiredService<DeploymentEnvironmentService>().ListAsync());
        Assert.True(stored.IsDefault);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "deployment-tools.png") });
    }

    [Fact]
    public async Task TrainingMethodsPage_CopyDpoWithOwnBeta_ListsTheCustomMethod()
    {
        var page = await _browser.OpenAsync(_host.Address, "/training-methods");
        await Assertions.Expect(page.GetByTestId("method-name-cell")).ToHaveCountAsync(4);

        await page.GetByTestId("copy-method").Nth(1).ClickAsync();
        await page.GetByTestId("method-name").FillAsync("DPO gentle");
        await page.GetByTestId("param-dpo_beta").FillAsync("0.05");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "training-method-form.png") });
        await page.GetByTestId("save-method").ClickAsync();

        await Assertions.Expect(page.GetByTestId("method-name-cell")).ToHaveCountAsync(5);
        await Assertions.Expect(page.GetByTestId("parameter-schema").Locator("[data-testid=value-dpo_beta]")).ToHaveTextAsync("0.05");
        var stored = (await _host.Services.GetRequiredService<TrainingMethodService>().ListAsync()).Single(m => !m.IsBuiltIn);
        Assert.Equal(TrainingAlgorithm.Dpo, stored.Algorithm);
        Assert.Equal(0.05, stored.Defaults["dpo_beta"]!.GetValue<double>());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "training-methods.png"), FullPage = true });
    }

    [Fact]
    public async Task ModelTraining_RunTheTrainFromTheForm_ListShowsItSucceedAndCopyPrefillsTheForm()
    {
        await TrainingHost.PrepareAsync(_env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var page = await _browser.OpenAsync(_host.Address, "/model-training");
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
        var customized = await _host.Services.GetRequiredService<DeepExtension.Core.CustomizedModels.CustomizedModelService>().ListAsync();
        Assert.Matches(@"^tiny-qwen2_ui-run_\d{8}_[0-9a-f]{4}$", Assert.Single(customized).Name);
    }

    [Fact]
    public async Task TrainDetails_RunningTrain_GainsPointsAndLogLinesLiveThenCancels()
    {
        var (model, version, method) = await TrainingHost.PrepareAsync(_env, TrainingHost.TwentyChats(), TrainingAlgorithm.Sft);
        var runs = _host.Services.GetRequiredService<TrainingRunService>();
        var parameters = new System.Text.Json.Nodes.JsonObject { ["num_epochs"] = 500, ["max_tokens"] = 64, ["save_every"] = 1000, ["save_unit"] = "steps" };
        var run = (await runs.StartAsync(new NewTrainRequest("live", model.Id, version.Id, method.Id, parameters, "cpu"))).Value!;
        var page = await _browser.OpenAsync(_host.Address, $"/model-training/{run.Id}");

        var step = page.GetByTestId("latest-step");
        await Assertions.Expect(step).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var first = long.Parse(await step.TextContentAsync() ?? "0");
        await Assertions.Expect(step).Not.ToHaveTextAsync(first.ToString(), new() { Timeout = 5_000 });
        await Assertions.Expect(page.GetByTestId("used-num_epochs")).ToHaveTextAsync("500");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDirectory, "train-overview.png"), FullPage = true });

        await page.GetByRole(AriaRole.Tab, new() { Name = "Train Log" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("log-lines")).ToContainTextAsync("trainable parameters");
        await page.GetByTestId("log-search").FillAsync("LoRA r=");
        await Assertions.Expect(page.GetByTestId("log-lines").Locator("div")).ToHaveCountAsync(1);
        using (var client = _host.CreateLoopbackClient())
        {
            var log = await client.GetStringAsync($"/api/runs/{run.Id}/log");
            Assert.Contains("INFO    Run live (SFT (LoRA)) on cpu", log);
        }

        await page.GetByTestId("details-cancel").ClickAsync();
        await Assertions.Expect(page.GetByTestId("details-status")).ToHaveTextAsync("Cancelled", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("details-resume")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Layout_ThemeToggle_SwitchesToDarkMode()
    {
        var page = await _browser.OpenAsync(_host.Address, "/base-models");
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
