using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace DeepExtension.Core.Data;

/// <summary>
/// Tells a save that lost a race (a unique index caught a duplicate) from a database that refused the write (read-only or
/// immutable file, disk full, unreachable), so a form says what happened instead of a false "saved at the same time".
/// </summary>
public static class DatabaseErrors
{
    /// <summary>Whether a unique index (or primary key) refused the row: SQLite's constraint codes, SQL Server's 2601/2627, PostgreSQL's 23505.</summary>
    public static bool IsDuplicate(DbUpdateException exception) => exception.InnerException switch
    {
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode is 2067 or 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
            || (sqlite.SqliteErrorCode == 19 && sqlite.SqliteExtendedErrorCode == 19),
        Microsoft.Data.SqlClient.SqlException sql => sql.Number is 2601 or 2627,
        Npgsql.PostgresException postgres => postgres.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>What a form shows when the database refused a save for any other reason.</summary>
    public static string Refused(Exception exception) =>
        $"The database refused the change, so nothing was saved: {Innermost(exception).Message.TrimEnd('.')}. Try again once it accepts writes.";

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is not null) exception = exception.InnerException;
        return exception;
    }
}
