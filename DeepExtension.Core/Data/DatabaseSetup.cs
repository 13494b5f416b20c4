using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Data;

/// <summary>Provider choice, connection strings and start-up migration, in one place.</summary>
public sealed class DatabaseSetup
{
    public DatabaseSetup(DeepExtensionOptions options, Storage.DataDirectories directories)
    {
        Provider = options.Database.Provider;
        ConnectionString = Provider switch
        {
            DatabaseProvider.Sqlite => SqliteConnectionString(options.Database.ConnectionString, directories),
            DatabaseProvider.SqlServer or DatabaseProvider.PostgreSql => string.IsNullOrWhiteSpace(options.Database.ConnectionString)
                ? throw new InvalidOperationException(
                    $"DeepExtension:Database:ConnectionString is required when the provider is {Provider}.")
                : options.Database.ConnectionString,
            _ => throw new InvalidOperationException($"Unknown database provider {Provider}."),
        };
    }

    public DatabaseProvider Provider { get; }

    /// <summary>Whether several scheduler nodes may share this database's Quartz job store (SQLite is one machine's file).</summary>
    public bool SupportsClustering => Provider is DatabaseProvider.SqlServer or DatabaseProvider.PostgreSql;
    public string ConnectionString { get; }

    private static string SqliteConnectionString(string? configured, Storage.DataDirectories directories)
    {
        var builder = new SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(configured)
            ? $"Data Source={directories.DefaultSqliteFile}"
            : configured);
        // Quartz and the app write from several threads; waiting on a lock beats failing with SQLITE_BUSY.
        builder.DefaultTimeout = Math.Max(builder.DefaultTimeout, 30);
        builder.Pooling = true;
        return builder.ToString();
    }

    /// <summary>Contexts of the configured provider; with <paramref name="changes"/>, their saves raise work changes.</summary>
    public IDbContextFactory<DeepExtensionDbContext> CreateFactory(Common.WorkChanges? changes = null)
    {
        var interceptors = changes is null ? [] : new Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor[] { new Common.WorkChanges.Interceptor(changes) };
        return Provider switch
        {
            DatabaseProvider.Sqlite => new ProviderContextFactory(() => new SqliteDeepExtensionDbContext(
                new DbContextOptionsBuilder<SqliteDeepExtensionDbContext>().UseSqlite(ConnectionString)
                    .AddInterceptors([.. interceptors, new SqliteReadOnlyRecovery()]).Options)),
            DatabaseProvider.PostgreSql => new ProviderContextFactory(() => new PostgreSqlDeepExtensionDbContext(
                new DbContextOptionsBuilder<PostgreSqlDeepExtensionDbContext>()
                    .UseNpgsql(ConnectionString, npgsql => npgsql.EnableRetryOnFailure()).AddInterceptors(interceptors).Options)),
            _ => new ProviderContextFactory(() => new SqlServerDeepExtensionDbContext(
                new DbContextOptionsBuilder<SqlServerDeepExtensionDbContext>()
                    .UseSqlServer(ConnectionString, sql => sql.EnableRetryOnFailure()).AddInterceptors(interceptors).Options)),
        };
    }

    /// <summary>Applies every pending migration (application tables and the Quartz job store).</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await CreateFactory().CreateDbContextAsync(cancellationToken);
        if (Provider == DatabaseProvider.Sqlite)
        {
            // WAL lets the web app read while a job writes.
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        await db.Database.MigrateAsync(cancellationToken);
    }

    /// <summary>
    /// Tries a write that changes nothing (an update of no row in a transaction rolled back) and says why it was refused,
    /// or null when the database accepts writes. SQLite is asked through a connection of its own, outside the pool: a
    /// pooled connection opened before the file became read-only (or immutable) may still look writable until it writes.
    /// </summary>
    public async Task<string?> ProbeWriteAsync(CancellationToken cancellationToken = default)
    {
        const string noChange = "UPDATE \"__EFMigrationsHistory\" SET \"ProductVersion\" = \"ProductVersion\" WHERE 1 = 0";
        try
        {
            if (Provider == DatabaseProvider.Sqlite)
            {
                var own = new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite, DefaultTimeout = 5 };
                await using var connection = new SqliteConnection(own.ToString());
                await connection.OpenAsync(cancellationToken);
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = noChange;
                await command.ExecuteNonQueryAsync(cancellationToken);
                await transaction.RollbackAsync(cancellationToken);
                return null;
            }
            await using var db = await CreateFactory().CreateDbContextAsync(cancellationToken);
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync(noChange, cancellationToken);
            await tx.RollbackAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ex.Message;
        }
    }

    private sealed class ProviderContextFactory(Func<DeepExtensionDbContext> create) : IDbContextFactory<DeepExtensionDbContext>
    {
        public DeepExtensionDbContext CreateDbContext() => create();
    }
}
