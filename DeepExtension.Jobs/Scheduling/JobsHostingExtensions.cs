using DeepExtension.Core;
using DeepExtension.Core.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using DeepExtension.Core.Work;
using DeepExtension.Jobs.Deployment;
using DeepExtension.Jobs.Nodes;
using DeepExtension.Jobs.Runs;
using DeepExtension.Jobs.Saving;
using DeepExtension.Jobs.Work;
using Quartz;

namespace DeepExtension.Jobs.Scheduling;

public static class JobsHostingExtensions
{
    public const string SchedulerName = "DeepExtension";

    /// <summary>
    /// Quartz with its persistent job store in the application database (tables created by the project's
    /// migrations), JSON job data, and — unless "DeepExtension:Scheduler:Enabled" is false — a scheduler
    /// running in this process.
    /// </summary>
    public static IHostApplicationBuilder AddDeepExtensionJobs(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(DeepExtensionOptions.SectionName).Get<DeepExtensionOptions>() ?? new();
        var database = new DatabaseSetup(options, new Core.Storage.DataDirectories(options));

        var limits = new WorkLimits(builder.Configuration);
        builder.Services.AddQuartz(quartz =>
        {
            // Each kind has its own limit (WorkLimits) and nothing waits on a thread: enough threads for all at once.
            quartz.UseDefaultThreadPool(pool => pool.MaxConcurrency = limits.SchedulerThreads);
            quartz.ConfigureScheduler(scheduler =>
            {
                scheduler.InstanceName = SchedulerName;
                scheduler.GenerateInstanceId = true;
                // A stopping console tells running jobs so training workers checkpoint, and waits for them to unwind.
                scheduler.ShutdownJobInterruption = ShutdownJobInterruption.Always;
            });
            quartz.UsePersistentStore(store =>
            {
                store.UseSystemTextJsonSerializer(_ => { });
                store.ConfigureStore(o =>
                {
                    o.StoreJobDataAsStrings = true;
                    // The migrations own the schema; Quartz only checks that it finds what it expects.
                    o.SchemaProvisioning = SchemaProvisioning.Validate;
                    // PostgreSQL's script names the tables unquoted, so they exist in lower case.
                    if (database.Provider == DatabaseProvider.PostgreSql) o.TablePrefix = "qrtz_";
                });
                switch (database.Provider)
                {
                    case DatabaseProvider.Sqlite:
                        store.UseSqlite(database.ConnectionString);
                        break;
                    case DatabaseProvider.SqlServer:
                        store.UseSqlServer(database.ConnectionString);
                        break;
                    case DatabaseProvider.PostgreSql:
                        store.UsePostgres(database.ConnectionString);
                        break;
                }
                if (IsClustered(builder.Configuration, database))
                {
                    // Several nodes (the console and worker nodes) share one job store: each fired trigger goes
                    // to one node, and a node whose check-ins stop has its recoverable jobs taken over by another.
                    store.UseClustering(cluster =>
                    {
                        // How soon a dead node's runs are recovered by another: it is seen dead after about two check-ins.
                        cluster.CheckinInterval = TimeSpan.FromSeconds(Math.Clamp(builder.Configuration.GetValue(ClusterCheckinKey, 7.5), 0.5, 600));
                        cluster.CheckinMisfireThreshold = cluster.CheckinInterval;
                    });
                }
            });
        });

        builder.Services.AddSingleton<IWorkQueue, QuartzWorkQueue>();
        builder.Services.AddSingleton<RunSlots>();
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton<WorkerLauncher>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TrainingDevices>();
        builder.Services.AddSingleton<NodeService>();
        builder.Services.AddSingleton<NodeDevices>();
        builder.Services.AddSingleton<NodeIdentity>();
        builder.Services.AddSingleton<ConsoleFeed>();
        builder.Services.AddTransient<TrainingRunJob>();
        builder.Services.AddTransient<ModelSaveJob>();
        builder.Services.AddTransient<DeploymentJob>();
        builder.Services.AddTransient<HubDownloads.HubDownloadJob>();
        builder.Services.AddTransient<Evaluations.EvaluationJob>();

        if (builder.Configuration.GetValue(SchedulerEnabledKey, true))
        {
            // Jobs are told to stop on shutdown (training workers checkpoint and exit); unfinished runs resume at the next start.
            // Ahead of the scheduler: a node with a skewed clock, or an unclustered scheduler on a cluster's tables, stops here.
            builder.Services.AddHostedService<ClusterGuard>();
            builder.Services.AddQuartzHostedService(q => q.WaitForJobsToComplete = true);
            builder.Services.AddHostedService<InterruptedWorkRecovery>();
            // A worker node with the console's address sends its runs' lines there (inert elsewhere).
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ConsoleFeed>());
            // Work left Queued or Running with no job and no lease (its last state change refused) is requeued or failed.
            builder.Services.AddSingleton<WorkReconciler>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkReconciler>());
            if (IsClustered(builder.Configuration, database))
            {
                // On a shared (clustered) job store every scheduling process is a node of the Nodes page.
                builder.Services.TryAddSingleton(new NodeRole(IsConsole: true));
                builder.Services.AddHostedService<NodeHeartbeat>();
            }
        }
        return builder;
    }

    public const string SchedulerEnabledKey = DeepExtensionOptions.SectionName + ":Scheduler:Enabled";

    /// <summary>False: a scheduler on PostgreSQL or SQL Server that is not clustered (one machine); refused where a cluster uses the tables.</summary>
    public const string ClusteredKey = DeepExtensionOptions.SectionName + ":Scheduler:Clustered";

    /// <summary>Whether this process's scheduler joins a cluster: on PostgreSQL or SQL Server unless <see cref="ClusteredKey"/> is false.</summary>
    public static bool IsClustered(IConfiguration configuration, DatabaseSetup database) =>
        database.SupportsClustering && configuration.GetValue(ClusteredKey, true);

    /// <summary>Seconds between a clustered node's check-ins in the job store (Quartz's default 7.5).</summary>
    public const string ClusterCheckinKey = DeepExtensionOptions.SectionName + ":Nodes:ClusterCheckinSeconds";
}
