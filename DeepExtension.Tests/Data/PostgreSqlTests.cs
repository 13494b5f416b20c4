using DeepExtension.Core;
using DeepExtension.Core.Data;
using DeepExtension.Jobs.Scheduling;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace DeepExtension.Tests.Data;

/// <summary>The PostgreSQL provider against a real server (<see cref="PostgresServer"/>).</summary>
[RequiresPostgreSql]
public class PostgreSqlTests
{
    [Fact]
    public async Task Migrate_EmptyPostgresDatabase_AppliesEveryMigrationAndCreatesAllTables()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync(migrate: false);

        await env.Database.MigrateAsync();

        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        var tables = await db.Database.SqlQueryRaw<string>(
            "SELECT table_name AS \"Value\" FROM information_schema.tables WHERE table_schema = 'public'").ToListAsync();
        foreach (var table in new[] { "BaseModels", "DeploymentEnvironments", "Datasets", "DatasetVersions", "TrainingRuns", "AspNetUsers", "AspNetUserRoles" })
        {
            Assert.Contains(table, tables);
        }
        foreach (var quartzTable in QuartzSchemaMigration.Tables)
        {
            Assert.Contains((QuartzSchemaMigration.TablePrefix + quartzTable).ToLowerInvariant(), tables);
        }
    }

    [Fact]
    public async Task Migrate_RunTwiceOnPostgres_IsANoOp()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();

        await env.Database.MigrateAsync();

        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task PostgreSql_ModelAndMigrations_AgreeWithNoPendingChanges()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync(migrate: false);
        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.IsType<PostgreSqlDeepExtensionDbContext>(db);
        Assert.False(db.Database.HasPendingModelChanges());
    }

    [Fact]
    public async Task Services_OnPostgres_WriteReadBackAndKeepNamesUniqueIgnoringCase()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();

        var created = await env.DeploymentEnvironments.CreateAsync(new("Ollama PG", "http://127.0.0.1:11434", true));
        var duplicate = await env.DeploymentEnvironments.CreateAsync(new("ollama pg", "http://127.0.0.1:11435", false));

        Assert.True(created.Succeeded);
        Assert.False(duplicate.Succeeded);
        var listed = Assert.Single(await env.DeploymentEnvironments.ListAsync());
        Assert.Equal(created.Value!.Id, listed.Id);
        Assert.Equal("Ollama PG", listed.Name);
        Assert.Equal(DateTimeKind.Utc, listed.CreatedAtUtc.Kind);
    }

    [Fact]
    public async Task ClusteredJobStore_OnPostgres_KeepsJobsAcrossRestartAndRunsClustered()
    {
        await using var env = await TestEnvironment.CreateOnPostgresAsync();
        var jobKey = new JobKey("survives-restart", "tests");

        using (var first = await StartSchedulerAsync(env))
        {
            var scheduler = await first.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
            var metadata = await scheduler.GetMetadata();
            Assert.True(metadata.JobStoreClustered);
            Assert.True(metadata.JobStorePersistent);
            await scheduler.AddJob(JobBuilder.Create<QuartzJobStoreTests.NoOpJob>().WithIdentity(jobKey).StoreDurably().UsingJobData("payload", "kept").Build());
            await first.StopAsync();
        }

        using var second = await StartSchedulerAsync(env);
        var restarted = await second.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var stored = await restarted.GetJobDetail(jobKey);
        Assert.NotNull(stored);
        Assert.Equal("kept", stored.JobDataMap.GetString("payload"));
        await second.StopAsync();
    }

    [Fact]
    public void TestServer_NoBinaries_FailsSayingHowToInstallThem()
    {
        var empty = Path.Combine(Path.GetTempPath(), "deepx-no-postgres-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(empty);
        try
        {
            var missing = Assert.Throws<InvalidOperationException>(() => PostgresServer.FindBinDirectory(null, empty));
            var wrongFolder = Assert.Throws<InvalidOperationException>(() => PostgresServer.FindBinDirectory(empty, "/usr/lib/postgresql"));

            Assert.Contains("apt-get install postgresql", missing.Message);
            Assert.Contains(PostgresServer.ConnectionStringVariable, missing.Message);
            Assert.Contains($"{PostgresServer.BinDirectoryVariable}={empty} has no initdb", wrongFolder.Message);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    private static async Task<IHost> StartSchedulerAsync(TestEnvironment env)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{DeepExtensionOptions.SectionName}:DataRoot"] = env.DataRoot,
            [$"{DeepExtensionOptions.SectionName}:Database:Provider"] = nameof(DatabaseProvider.PostgreSql),
            [$"{DeepExtensionOptions.SectionName}:Database:ConnectionString"] = env.Postgres!.ConnectionString,
        });
        builder.AddDeepExtensionCore();
        builder.AddDeepExtensionJobs();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
