using System.Data.Common;
using DeepExtension.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Scheduling;

/// <summary>A scheduler that must not start on this database; the message says why and what to do.</summary>
public sealed class ClusterRefusedException(string message) : Exception(message);

/// <summary>
/// The pitfalls Quartz documents for a clustered job store, checked before this process's scheduler starts (it is
/// registered ahead of it): a node whose clock is off from the database server's (Quartz judges a node dead, and fires
/// triggers, by the clocks of the nodes), and a scheduler that is not clustered on tables a cluster uses (at its start
/// it takes every fired trigger as its own crash's and fires those jobs again, beside the nodes that run them).
/// </summary>
public sealed class ClusterGuard(
    DatabaseSetup database, IDbContextFactory<DeepExtensionDbContext> dbFactory, IConfiguration configuration, TimeProvider clock,
    ILogger<ClusterGuard> logger) : IHostedService
{
    /// <summary>The most a node's clock may differ from the database server's (default 5 s; Quartz wants them synchronised).</summary>
    public const string MaxClockSkewKey = "DeepExtension:Nodes:MaxClockSkewSeconds";

    /// <summary>A cluster node that checked in within this is taken as running.</summary>
    private static readonly TimeSpan RecentCheckin = TimeSpan.FromMinutes(2);

    public TimeSpan MaxClockSkew => TimeSpan.FromSeconds(Math.Max(0, configuration.GetValue(MaxClockSkewKey, 5.0)));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!database.SupportsClustering) return;
        var refusal = JobsHostingExtensions.IsClustered(configuration, database)
            ? await CheckClockAsync(cancellationToken) ?? await FindUnclusteredSchedulerAsync(cancellationToken)
            : await FindClusterAsync(cancellationToken);
        if (refusal is null) return;
        logger.LogCritical("{Refusal}", refusal);
        throw new ClusterRefusedException(refusal);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Null when this machine's clock is within <see cref="MaxClockSkew"/> of the database server's, else why not.</summary>
    public async Task<string?> CheckClockAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        // Warm the connection first, so the measured round trip is the query's alone.
        await ServerUtcAsync(connection, cancellationToken);
        var before = clock.GetUtcNow();
        var server = await ServerUtcAsync(connection, cancellationToken);
        var after = clock.GetUtcNow();
        // The server read its clock somewhere within the round trip: compare with its middle, allow half of it.
        var skew = before + (after - before) / 2 - server;
        var allowed = MaxClockSkew + (after - before) / 2;
        if (skew.Duration() <= allowed) return null;
        return $"This machine's clock is {skew.Duration().TotalSeconds:0.0} s {(skew > TimeSpan.Zero ? "ahead of" : "behind")} the database server's " +
               $"(at most {MaxClockSkew.TotalSeconds:0.#} s allowed, {MaxClockSkewKey}). Quartz's cluster judges nodes dead and fires work by " +
               "the nodes' clocks, so a skewed node would take over live nodes' runs. Synchronise the clocks (NTP, chrony or systemd-timesyncd) " +
               "and start it again.";
    }

    private async Task<DateTimeOffset> ServerUtcAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = database.Provider == Core.DatabaseProvider.PostgreSql ? "SELECT clock_timestamp()" : "SELECT SYSUTCDATETIME()";
        var value = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new DateTimeOffset(DateTime.SpecifyKind(value.ToUniversalTime(), DateTimeKind.Utc));
    }

    /// <summary>For a scheduler that is not clustered: the cluster nodes that use these tables now, if any.</summary>
    public async Task<string?> FindClusterAsync(CancellationToken cancellationToken = default)
    {
        var since = (clock.GetUtcNow() - RecentCheckin).UtcTicks;
        var nodes = await QueryAsync<string>(
            $"SELECT instance_name FROM {Table("SCHEDULER_STATE")} WHERE sched_name = @name AND last_checkin_time > @since",
            r => r.GetString(0), cancellationToken, ("since", since));
        if (nodes.Count == 0) return null;
        return $"The job store's tables are used by a cluster of schedulers ({string.Join(", ", nodes)} checked in during the last " +
               $"{RecentCheckin.TotalMinutes:0} minutes), and this scheduler is not clustered: it would fire their running work again. " +
               $"Remove {JobsHostingExtensions.ClusteredKey}=false (nodes on PostgreSQL or SQL Server are clustered), or give it a database of its own.";
    }

    /// <summary>For a cluster node: a scheduler that is not clustered firing jobs from these tables (its fired triggers have no check-in row).</summary>
    public async Task<string?> FindUnclusteredSchedulerAsync(CancellationToken cancellationToken = default)
    {
        var strangers = await QueryAsync<string>(
            $"SELECT DISTINCT f.instance_name FROM {Table("FIRED_TRIGGERS")} f WHERE f.sched_name = @name AND NOT EXISTS " +
            $"(SELECT 1 FROM {Table("SCHEDULER_STATE")} s WHERE s.sched_name = f.sched_name AND s.instance_name = f.instance_name)",
            r => r.GetString(0), cancellationToken);
        if (strangers.Count == 0) return null;
        return $"A scheduler that is not clustered ({string.Join(", ", strangers)}) is running jobs from this job store: it never checks in, " +
               "so the cluster cannot tell when it dies and it can take the nodes' work as its own. Stop it, or start it clustered " +
               $"(without {JobsHostingExtensions.ClusteredKey}=false), before starting this node.";
    }

    private string Table(string name) =>
        database.Provider == Core.DatabaseProvider.PostgreSql ? "qrtz_" + name.ToLowerInvariant() : "QRTZ_" + name;

    private async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters.Append(("name", JobsHostingExtensions.SchedulerName)))
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add(read(reader));
        return rows;
    }
}
