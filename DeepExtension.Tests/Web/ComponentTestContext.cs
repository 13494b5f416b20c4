using Bunit;
using DeepExtension.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace DeepExtension.Tests.Web;

/// <summary>bunit with MudBlazor and the real domain services over a migrated SQLite database.</summary>
public abstract class ComponentTestContext : BunitContext, IAsyncLifetime
{
    protected TestEnvironment Env { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Env = await TestEnvironment.CreateAsync();
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Services.AddSingleton(Env.BaseModels);
        Services.AddSingleton(Env.DeploymentEnvironments);
        Services.AddSingleton(Env.TrainingMethods);
        Services.AddSingleton(Env.Datasets);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        await Env.DisposeAsync();
    }
}
