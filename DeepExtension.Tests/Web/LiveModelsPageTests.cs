using Bunit;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace DeepExtension.Tests.Web;

/// <summary>Deploy dialog and Live Models page over the real services, the fake Ollama and a recorded job queue.</summary>
public class LiveModelsPageTests : ComponentTestContext
{
    [Fact]
    public async Task CompleteModelsPage_DeployThenOk_QueuesWithTheDefaultEnvironmentAndOpensLiveModels()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(Env);
        await DeploymentFixture.AddEnvironmentAsync(Env, $"http://127.0.0.1:{TestPorts.FreeLoopbackPort()}", "offline");
        var environment = await DeploymentFixture.AddEnvironmentAsync(Env, ollama.BaseUrl, "workstation");
        Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        var page = Render<DeepExtension.Web.Components.Pages.CompleteModels>();

        page.WaitForElement("[data-testid=deploy-model]").Click();

        dialogs.WaitForAssertion(() => Assert.Equal(complete.Name.ToLowerInvariant() + ":latest", dialogs.Find("input[data-testid=deploy-name]").GetAttribute("value")));
        Assert.Contains($"workstation ({ollama.BaseUrl})", dialogs.Markup);
        Assert.Contains("Answer briefly.", dialogs.Find("[data-testid=deploy-system]").TextContent);
        Assert.Contains("<|im_end|>", dialogs.Find("[data-testid=deploy-stops]").TextContent);
        Assert.Contains("complete model's weights", dialogs.Find("[data-testid=deploy-files]").TextContent);
        dialogs.Find("[data-testid=deploy-ok]").Click();

        var navigation = Services.GetRequiredService<NavigationManager>();
        page.WaitForAssertion(() => Assert.EndsWith("/live-models", navigation.Uri));
        var deployment = Assert.Single(await Deployments.ListAsync());
        Assert.Equal(environment.Id, deployment.EnvironmentId);
        Assert.Equal(OllamaQuantization.None, deployment.Quantization);
        Assert.Equal([deployment.Id], DeploymentScheduler.Queued);
    }

    [Fact]
    public async Task DeployDialog_OllamaUnreachable_StaysOpenWithTheReasonAndQueuesNothing()
    {
        var complete = await DeploymentFixture.AddCompleteModelAsync(Env);
        await DeploymentFixture.AddEnvironmentAsync(Env, $"http://127.0.0.1:{TestPorts.FreeLoopbackPort()}", "offline");
        Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        var page = Render<DeepExtension.Web.Components.Pages.CompleteModels>();
        page.WaitForElement("[data-testid=deploy-model]").Click();

        dialogs.WaitForElement("[data-testid=deploy-ok]").Click();

        dialogs.WaitForAssertion(() => Assert.Contains("Could not reach Ollama", dialogs.Find("[data-testid=deploy-dialog]").TextContent));
        Assert.NotNull(dialogs.Find("[data-testid=deploy-ok]"));
        Assert.Empty(await Deployments.ListAsync());
        Assert.Empty(DeploymentScheduler.Queued);
    }

    [Fact]
    public async Task CustomizedModelsPage_DeployWithoutTemplate_SaysToAddTheTemplateAndOpensNoDialog()
    {
        await CustomizedModelFixture.RegisterReferenceAdapterAsync(Env);
        var dialogs = Render<MudDialogProvider>();
        var snackbars = Render<MudSnackbarProvider>();
        var page = Render<CustomizedModels>();

        page.WaitForElement("[data-testid=deploy-model]").Click();

        snackbars.WaitForAssertion(() => Assert.Contains("has no Deployment Template File", snackbars.Markup));
        Assert.Empty(dialogs.FindAll("[data-testid=deploy-dialog]"));
    }

    [Fact]
    public async Task LiveModelsPage_DeployedModel_ShowsStateFromOllamaAndTheChatStreamsTheAnswer()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var (_, deployment) = await DeploymentFixture.DeployedAsync(Env, ollama, Deployments);

        var page = Render<LiveModels>();

        page.WaitForAssertion(() => Assert.Equal("Available", page.Find("[data-testid=live-availability]").TextContent.Trim()));
        Assert.Equal("tiny:q8_0", page.Find("[data-testid=deployment-name]").TextContent.Trim());
        Assert.Contains(deployment.SourceModelName, page.Find("[data-testid=deployment-source]").TextContent);
        Assert.Contains("Q8_0", page.Find("[data-testid=deployment-quantization]").TextContent);
        Assert.NotEqual("—", page.Find("[data-testid=deployment-size]").TextContent.Trim());

        page.Find("[data-testid=chat-deployment]").Click();
        // The chat opens after the click's handler ran; a reload of the list may render in between.
        page.WaitForElement("input[data-testid=chat-input]").Input("hello model");
        page.Find("[data-testid=chat-send]").Click();

        page.WaitForAssertion(() => Assert.Equal("[Answer briefly.] You said: hello model", page.FindAll("[data-testid=chat-assistant] div")[^1].TextContent));
        Assert.Equal("hello model", page.Find("[data-testid=chat-user] div").TextContent);
    }

    [Fact]
    public async Task LiveModelsPage_QueuedAndFailedDeployments_ShowProgressStageAndReason()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        var complete = await DeploymentFixture.AddCompleteModelAsync(Env);
        var environment = await DeploymentFixture.AddEnvironmentAsync(Env, ollama.BaseUrl);
        var running = (await Deployments.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "running", OllamaQuantization.Q4_K_M))).Value!;
        await Deployments.MarkRunningAsync(running.Id);
        await Deployments.ReportAsync(running.Id, new DeployProgress(0.5, "Uploading model.safetensors (1 MiB of 2 MiB)"));
        var failed = (await Deployments.DeployAsync(new DeployRequest(DeploymentSourceKind.Complete, complete.Id, environment.Id, "failed", OllamaQuantization.None))).Value!;
        await Deployments.FailAsync(failed.Id, "Ollama could not create failed: no space left on device");
        Directory.CreateDirectory(Deployments.FolderOf(failed.Id));
        LogFile.Append(new RunFiles(Deployments.FolderOf(failed.Id)), new LogLine(DateTimeOffset.UtcNow, RunLogLevel.Error, "Ollama could not create failed: no space left on device"));

        var page = Render<LiveModels>();

        page.WaitForAssertion(() => Assert.Equal("Uploading model.safetensors (1 MiB of 2 MiB)", page.Find("[data-testid=deployment-stage]").TextContent));
        Assert.Contains("no space left on device", page.Find("[data-testid=deployment-failure]").TextContent);
        var failedRow = page.FindAll("tr").Single(r => r.QuerySelector("[data-testid=deployment-failure]") is not null);
        failedRow.QuerySelector("[data-testid=toggle-log]")!.Click();
        page.WaitForAssertion(() => Assert.Contains("ERROR   Ollama could not create failed: no space left on device", page.Find("[data-testid=deployment-log]").TextContent));
        // A running deployment cannot be removed, but it can be cancelled (issue 13, item 6); the failed one can be removed.
        Assert.Single(page.FindAll("[data-testid=remove-deployment]"));
        Assert.Single(failedRow.QuerySelectorAll("[data-testid=remove-deployment]"));
        var cancel = Assert.Single(page.FindAll("[data-testid=cancel-deployment]"));
        Assert.False(cancel.HasAttribute("disabled"));
    }

    [Fact]
    public async Task LiveModelsPage_RemoveConfirmed_DeletesInOllamaAndTheRowGoes()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        await DeploymentFixture.DeployedAsync(Env, ollama, Deployments);
        var dialogs = Render<MudDialogProvider>();
        var page = Render<LiveModels>();

        page.WaitForElement("[data-testid=remove-deployment]").Click();
        dialogs.WaitForAssertion(() => Assert.Contains("The model tiny:q8_0 in Ollama at", dialogs.Find("[data-testid=confirm-goes]").TextContent));
        Assert.Contains("it was made from", dialogs.Find("[data-testid=confirm-stays]").TextContent);
        dialogs.FindAll("button").Single(b => b.TextContent.Trim() == "Remove").Click();

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=no-deployments]")));
        Assert.Empty(ollama.ModelNames);
    }
}
