using DeepExtension.Core.Data;
using DeepExtension.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace DeepExtension.Tests.Data;

public class MigrationTests
{
    [Fact]
    public async Task Migrate_EmptySqliteFile_AppliesEveryMigrationAndCreatesAllTables()
    {
        await using var env = await TestEnvironment.CreateAsync(migrate: false);
        Assert.False(File.Exists(env.Directories.DefaultSqliteFile));

        await env.Database.MigrateAsync();

        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.True(File.Exists(env.Directories.DefaultSqliteFile));
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());

        var tables = await db.Database.SqlQueryRaw<string>("SELECT name AS Value FROM sqlite_master WHERE type = 'table'").ToListAsync();
        Assert.Contains("BaseModels", tables);
        Assert.Contains("DeploymentEnvironments", tables);
        Assert.Contains("Datasets", tables);
        Assert.Contains("DatasetVersions", tables);
        Assert.Contains("AspNetUsers", tables);
        Assert.Contains("AspNetRoles", tables);
        Assert.Contains("AspNetUserRoles", tables);
        foreach (var quartzTable in QuartzSchemaMigration.Tables)
        {
            Assert.Contains(QuartzSchemaMigration.TablePrefix + quartzTable, tables);
        }
    }

    [Fact]
    public async Task Migrate_RunTwice_IsANoOp()
    {
        await using var env = await TestEnvironment.CreateAsync();

        await env.Database.MigrateAsync();

        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task Sqlite_ModelAndMigrations_AgreeWithNoPendingChanges()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var db = await env.DbFactory.CreateDbContextAsync();
        Assert.False(db.Database.HasPendingModelChanges());
    }

    [Fact]
    public void SqlServer_ModelAndMigrations_AgreeAndScriptCreatesEveryTable()
    {
        // No SQL Server runs here; the script generation still exercises every SQL Server migration.
        using var db = new SqlServerDeepExtensionDbContext(new DbContextOptionsBuilder<SqlServerDeepExtensionDbContext>()
            .UseSqlServer("Server=unused;Database=unused").Options);

        Assert.False(db.Database.HasPendingModelChanges());
        var script = db.GetService<IMigrator>().GenerateScript();

        Assert.Contains("CREATE TABLE [BaseModels]", script);
        Assert.Contains("CREATE TABLE [DeploymentEnvironments]", script);
        Assert.Contains("CREATE TABLE [Datasets]", script);
        Assert.Contains("CREATE TABLE [DatasetVersions]", script);
        Assert.Contains("CREATE TABLE [AspNetUsers]", script);
        foreach (var quartzTable in QuartzSchemaMigration.Tables)
        {
            Assert.Contains($"CREATE TABLE {QuartzSchemaMigration.TablePrefix}{quartzTable}", script);
        }
    }

    [Fact]
    public void QuartzSchemaStatements_EveryDialect_HaveNoUnsubstitutedPlaceholders()
    {
        foreach (var dialect in new[] { "sqlite", "sqlServer", "postgres" })
        {
            var statements = QuartzSchemaMigration.Statements(dialect).ToList();
            Assert.True(statements.Count > 20, $"{dialect}: {statements.Count} statements");
            Assert.DoesNotContain(statements, s => s.Contains("{0}") || s.Contains("{1}"));
        }
    }
}
