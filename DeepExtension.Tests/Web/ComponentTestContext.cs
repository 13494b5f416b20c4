using Bunit;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Runs;
using DeepExtension.Tests.Support;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Work;
using DeepExtension.Jobs.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace DeepExtension.Tests.Web;

/// <summary>bunit with MudBlazor and the real domain services over a migrated SQLite database.</summary>
public abstract class ComponentTestContext : BunitContext, IAsyncLifetime
{
    protected TestEnvironment Env { get; private set; } = null!;

    /// <summary>Queued runs are recorded here instead of starting workers: component tests stop at the service.</summary>
    protected RecordingRunScheduler Scheduler { get; } = new();

    /// <summary>Saves are recorded here instead of starting merge workers.</summary>
    protected RecordingScheduler SaveScheduler { get; } = new();

    /// <summary>Deployments are recorded here instead of running their jobs.</summary>
    protected RecordingScheduler DeploymentScheduler { get; } = new();

    protected DeploymentService Deployments { get; private set; } = null!;

    /// <summary>Hub downloads are recorded here instead of running their jobs.</summary>
    protected RecordingScheduler DownloadScheduler { get; } = new();

    public async Task InitializeAsync()
    {
        Env = await TestEnvironment.CreateAsync();
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Services.AddScoped<DeepExtension.Web.Components.Controls.BrowserInterop>();
        Services.AddSingleton(Env.BaseModels);
        Services.AddSingleton(Env.DeploymentEnvironments);
        Services.AddSingleton(Env.TrainingMethods);
        Services.AddSingleton(new TrainingRunService(Env.DbFactory, Env.Directories, Scheduler, TimeProvider.System));
        Services.AddSingleton(Env.Datasets);
        Services.AddSingleton(new CustomizedModelService(Env.DbFactory, Env.Directories, TimeProvider.System));
        Services.AddSingleton(new CompleteModelService(Env.DbFactory, Env.Directories, SaveScheduler, TimeProvider.System));
        Deployments = Env.CreateDeploymentService(DeploymentScheduler);
        Services.AddSingleton(Deployments);
        Services.AddSingleton(new DeepExtension.Core.Evaluations.LlmJudge(Deployments));
        Services.AddSingleton(new RunComparisonService(Env.DbFactory));
        Services.AddSingleton(new DeepExtension.Core.Evaluations.EvaluationService(Env.DbFactory, Env.Directories, SaveScheduler, TimeProvider.System));
        // As on a console whose scheduler runs on a worker node: devices come from the report that node writes to the data root.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [JobsHostingExtensions.SchedulerEnabledKey] = "false",
        }).Build();
        Services.AddSingleton(new TrainingDevices(new WorkerLauncher(Env.Directories, Env.Database, configuration), Env.Directories, configuration, TimeProvider.System));
        Services.AddSingleton(new DeepExtension.Jobs.Nodes.NodeService(Env.DbFactory, configuration, TimeProvider.System));
        Services.AddSingleton(Env.WorkChanges);
        var hub = new DeepExtension.Core.HuggingFace.HubClient(Env.HttpClients, Microsoft.Extensions.Options.Options.Create(Env.Options));
        Services.AddSingleton(hub);
        Services.AddSingleton(new DeepExtension.Core.HubDownloads.HubDownloadService(Env.DbFactory, hub, Env.BaseModels, Env.Directories, DownloadScheduler,
            new DeepExtension.Core.Work.WorkStore(Env.DbFactory, TimeProvider.System), new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider()));
        Services.AddSingleton(_ => new LiveRunStore(Microsoft.Extensions.Logging.Abstractions.NullLogger<LiveRunStore>.Instance) { Interval = TimeSpan.FromMilliseconds(50) });
    }

    /// <summary>Renders as the console's pages run after their prerender: interactive, on a Blazor Server circuit.</summary>
    protected IRenderedComponent<TComponent> RenderInteractive<TComponent>() where TComponent : Microsoft.AspNetCore.Components.IComponent
    {
        Renderer.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true));
        return Render<TComponent>();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        await Env.DisposeAsync();
    }
}
