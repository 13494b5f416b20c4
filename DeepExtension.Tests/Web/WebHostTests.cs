using System.Net;
using System.Text.Json;
using DeepExtension.Core.BaseModels;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepExtension.Tests.Web;

/// <summary>The console's own Program, served by Kestrel on a loopback port, fetched over real HTTP.</summary>
[OuterTier("starts the console host")]
public sealed class WebHostTests(ConsoleHostFixture console) : IClassFixture<ConsoleHostFixture>
{
    private readonly ConsoleHostFixture _console = console;

    [Theory]
    [InlineData("/", "Home")]
    [InlineData("/base-models", "Base Models")]
    [InlineData("/deployment-tools", "Deployment Tool Configuration")]
    [InlineData("/training-methods", "Training Methods")]
    [InlineData("/model-training", "Model Training")]
    [InlineData("/model-training/new", "Start a New Train")]
    [InlineData("/datasets", "Datasets")]
    [InlineData("/customized-models", "Customized Models")]
    [InlineData("/complete-models", "Complete Models")]
    [InlineData("/live-models", "Live Models")]
    [InlineData("/nodes", "Nodes")]
    [InlineData("/model-training/compare?runs=", "Compare trains")]
    public async Task Page_FetchedOverHttp_RendersItsHeading(string path, string heading)
    {
        Assert.StartsWith("http://127.0.0.1:", _console.Host.Address);
        using var client = _console.Host.CreateLoopbackClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains($">{heading}</h1>", html);
        Assert.Contains("_framework/blazor.web.js", html);
    }

    [Fact]
    public async Task Health_FreshDataRoot_CreatesTheDatabaseAndReportsHealthy()
    {
        using var client = _console.Host.CreateLoopbackClient();

        var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        Assert.True(File.Exists(_console.Env.Directories.DefaultSqliteFile));
    }

    [Fact]
    public async Task BaseModelsPage_ModelRegisteredThroughTheHostsServices_IsServedInTheList()
    {
        var path = _console.Env.AddModelFolder("tiny-qwen2");
        var service = _console.Host.Services.GetRequiredService<BaseModelService>();
        Assert.True((await service.CreateAsync(new BaseModelInput("tiny-qwen2", "Tiny Qwen2", path, null))).Succeeded);
        using var client = _console.Host.CreateLoopbackClient();

        var html = await client.GetStringAsync("/base-models");

        Assert.Contains("tiny-qwen2", html);
        Assert.Contains("Qwen2ForCausalLM", html);
    }

    [Fact]
    public async Task StaticAssets_MudBlazorAndAppCss_AreServed()
    {
        using var client = _console.Host.CreateLoopbackClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/_content/MudBlazor/MudBlazor.min.css")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/app.css")).StatusCode);
    }

    [Fact]
    public async Task StaticAssets_ApexChartsRestoredByTheBuildAndChartModules_AreServed()
    {
        using var client = _console.Host.CreateLoopbackClient();

        var apex = await client.GetAsync("/lib/apexcharts/apexcharts.min.js");
        Assert.Equal(HttpStatusCode.OK, apex.StatusCode);
        Assert.Contains("ApexCharts", await apex.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/js/charts.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/js/chart-math.js")).StatusCode);
    }

    [Theory]
    [InlineData("/favicon.svg")]
    [InlineData("/favicon.ico")]
    public async Task Favicon_Requested_IsServed(string path)
    {
        using var client = _console.Host.CreateLoopbackClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
    }
}
