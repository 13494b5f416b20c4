using System.Reflection;
using Microsoft.EntityFrameworkCore.Migrations;

namespace DeepExtension.Core.Data;

/// <summary>
/// Creates Quartz's job-store tables from the schema script Quartz ships, so the job store lives in the
/// application database and is versioned by the same migrations.
/// </summary>
internal static class QuartzSchemaMigration
{
    public const string TablePrefix = "QRTZ_";

    public static void Apply(MigrationBuilder migrationBuilder, string dialect)
    {
        foreach (var statement in Statements(dialect))
        {
            migrationBuilder.Sql(statement);
        }
    }

    /// <summary>Children before parents, so foreign keys never block a drop.</summary>
    internal static readonly string[] Tables =
    [
        "JOB_STATUS", "MISFIRE_HISTORY", "EXECUTION_HISTORY", "LOCKS", "SCHEDULER_STATE", "FIRED_TRIGGERS",
        "PAUSED_JOB_GRPS", "PAUSED_TRIGGER_GRPS", "CALENDARS", "BLOB_TRIGGERS", "SIMPROP_TRIGGERS",
        "CRON_TRIGGERS", "SIMPLE_TRIGGERS", "TRIGGERS", "JOB_DETAILS",
    ];

    public static void Drop(MigrationBuilder migrationBuilder)
    {
        foreach (var table in Tables)
        {
            migrationBuilder.DropTable(TablePrefix + table);
        }
    }

    /// <summary>PostgreSQL's script names its tables unquoted, so they exist in lower case.</summary>
    public static void DropLowerCase(MigrationBuilder migrationBuilder)
    {
        foreach (var table in Tables)
        {
            migrationBuilder.DropTable((TablePrefix + table).ToLowerInvariant());
        }
    }

    internal static IEnumerable<string> Statements(string dialect)
    {
        var resource = $"DeepExtension.Core.Data.QuartzSchema.quartz-4.7.3-{dialect}.sql";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing embedded resource {resource}.");
        using var reader = new StreamReader(stream);
        var script = reader.ReadToEnd().Replace("{0}", TablePrefix).Replace("{1}", TablePrefix);

        // The script separates statements with a line reading exactly "--;;".
        foreach (var piece in script.Replace("\r\n", "\n").Split("\n--;;\n"))
        {
            var sql = string.Join('\n', piece.Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim();
            if (sql.Length > 0) yield return sql;
        }
    }
}
