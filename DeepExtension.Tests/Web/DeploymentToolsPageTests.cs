using Bunit;
using DeepExtension.Core.Deployment;
using DeepExtension.Tests.Support;
using DeepExtension.Web.Components.Controls;
using DeepExtension.Web.Components.Pages;

namespace DeepExtension.Tests.Web;

public class DeploymentToolsPageTests : ComponentTestContext
{
    [Fact]
    public async Task DeploymentToolsPage_TestConnection_ShowsTheOllamaVersion()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        await Env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("local", ollama.BaseUrl, true));
        var page = Render<DeploymentTools>();
        page.WaitForElement("[data-testid=test-environment]");

        page.Find("[data-testid=test-environment]").Click();

        // An HTTP round trip to the fake server: bUnit's 1 s default is too short when CI starts many hosts at once.
        page.WaitForAssertion(() => Assert.Contains($"Ollama {FakeOllamaServer.Version}", page.Find("td[data-testid=connection-cell]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Contains("default", page.Markup);
    }

    [Fact]
    public async Task DeploymentToolsPage_UrlWithCredentials_ShowsItMaskedAndTestsWithTheStoredCredentials()
    {
        await using var ollama = await FakeOllamaServer.StartAsync();
        ollama.RequiredCredentials = "alice:s3cret-pw";
        await Env.DeploymentEnvironments.CreateAsync(new DeploymentEnvironmentInput("proxy", ollama.BaseUrl.Replace("http://", "http://alice:s3cret-pw@"), true));
        var page = Render<DeploymentTools>();
        page.WaitForElement("[data-testid=test-environment]");

        page.Find("[data-testid=test-environment]").Click();

        // An HTTP round trip to the fake server: bUnit's 1 s default is too short when CI starts many hosts at once.
        page.WaitForAssertion(() => Assert.Contains($"Ollama {FakeOllamaServer.Version}", page.Find("td[data-testid=connection-cell]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Contains(ollama.BaseUrl.Replace("http://", "http://***@"), page.Markup);
        Assert.DoesNotContain("s3cret", page.Markup);
        Assert.DoesNotContain("alice", page.Markup);
    }

    [Fact]
    public void DeploymentEnvironmentForm_BadUrl_ShowsTheRuleAndSavesNothing()
    {
        var form = Render<DeploymentEnvironmentForm>();

        form.Find("input[data-testid=environment-name]").Input("local");
        form.Find("input[data-testid=environment-url]").Input("localhost:11434");
        form.Find("button[data-testid=save-environment]").Click();

        form.WaitForAssertion(() => Assert.Contains("Enter an absolute http:// or https:// URL", form.Markup));
    }

    [Fact]
    public void DeploymentEnvironmentForm_TestUnreachableServer_ShowsTheError()
    {
        var form = Render<DeploymentEnvironmentForm>();

        form.Find("input[data-testid=environment-url]").Input("http://127.0.0.1:1");
        form.Find("button[data-testid=test-connection]").Click();

        form.WaitForAssertion(() => Assert.Contains("Could not reach Ollama at http://127.0.0.1:1", form.Find("[data-testid=connection-result]").TextContent),
            TimeSpan.FromSeconds(10));
    }
}
