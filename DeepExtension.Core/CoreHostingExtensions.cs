using DeepExtension.Core.BaseModels;
using DeepExtension.Core.CompleteModels;
using DeepExtension.Core.CustomizedModels;
using DeepExtension.Core.Data;
using DeepExtension.Core.Runs;
using DeepExtension.Core.Datasets;
using DeepExtension.Core.Deployment;
using DeepExtension.Core.Storage;
using DeepExtension.Core.Training;
using DeepExtension.Core.Work;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepExtension.Core;

public static class CoreHostingExtensions
{
    /// <summary>Options, data folders, the database and the domain services.</summary>
    public static IHostApplicationBuilder AddDeepExtensionCore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeepExtensionOptions>().Bind(builder.Configuration.GetSection(DeepExtensionOptions.SectionName));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new DataDirectories(sp.GetRequiredService<IOptions<DeepExtensionOptions>>()));
        builder.Services.AddSingleton(sp =>
        {
            var directories = sp.GetRequiredService<DataDirectories>();
            directories.EnsureCreated();
            return new DatabaseSetup(sp.GetRequiredService<IOptions<DeepExtensionOptions>>().Value, directories);
        });
        builder.Services.AddSingleton<Common.WorkChanges>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<DatabaseSetup>().CreateFactory(sp.GetRequiredService<Common.WorkChanges>()));
        builder.Services.AddSingleton(WorkStateRetry.From(builder.Configuration));
        builder.Services.AddSingleton<WorkStore>();

        builder.Services.AddHttpClient(DeploymentEnvironmentService.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10));
        builder.Services.AddHttpClient(OllamaDeployer.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton<OllamaEndpoint>();
        builder.Services.AddSingleton<OllamaDeployer>();
        builder.Services.AddSingleton<DeploymentService>();
        builder.Services.AddSingleton<Arena.ArenaService>();
        builder.Services.AddSingleton<BaseModelService>();
        builder.Services.AddSingleton<DeploymentEnvironmentService>();
        builder.Services.AddSingleton<TrainingMethodService>();
        builder.Services.AddSingleton<TrainingRunService>();
        builder.Services.AddSingleton<RunComparisonService>();
        builder.Services.AddSingleton<CustomizedModelService>();
        builder.Services.AddSingleton<CompleteModelService>();
        builder.Services.AddSingleton(sp => new LiveRunStore(sp.GetRequiredService<ILogger<LiveRunStore>>())
        {
            FedFileInterval = TimeSpan.FromSeconds(Math.Clamp(builder.Configuration.GetValue(Nodes.NodeFeed.FileFallbackSecondsKey, 5.0), 0, 86_400)),
        });
        builder.Services.AddSingleton<DatasetService>();
        builder.Services.AddSingleton<Audit.AuditTrail>();

        // Redirects are followed by HubClient itself: the token must not go to the CDN host a file redirects to.
        builder.Services.AddHttpClient(HuggingFace.HubClient.HttpClientName, c => c.Timeout = TimeSpan.FromMinutes(5))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None });
        builder.Services.AddSingleton<HuggingFace.HubClient>();
        builder.Services.AddSingleton<HubDownloads.HubDownloadService>();
        // Access tokens (and the web host's sign-in cookies) are protected with one key ring, kept under the data root.
        builder.Services.AddDataProtection().SetApplicationName("DeepExtension");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<DataDirectories, ILoggerFactory>((options, directories, loggers) =>
            options.XmlRepository = new FileSystemXmlRepository(Directory.CreateDirectory(directories.Keys), loggers));
        builder.Services.AddSingleton<Evaluations.EvaluationService>();
        builder.Services.AddSingleton<Evaluations.LlmJudge>();
        builder.Services.AddSingleton<Nodes.DataRootMarker>();
        return builder;
    }

    /// <summary>
    /// Creates the data folders, brings the database schema up to date and clears abandoned dataset uploads.
    /// Call before the host starts.
    /// </summary>
    public static async Task MigrateDeepExtensionDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        services.GetRequiredService<DataDirectories>().EnsureCreated();
        await services.GetRequiredService<DatabaseSetup>().MigrateAsync(cancellationToken);
        // Ollama URLs saved with plain-text credentials by earlier versions are encrypted in place.
        await services.GetRequiredService<DeploymentEnvironmentService>().ProtectStoredCredentialsAsync(cancellationToken);
        services.GetRequiredService<DatasetService>().DeleteStaleIncomingFiles(TimeSpan.FromDays(1));
    }
}
