using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace DeepExtension.Core.Data;

/// <summary>
/// SQLite opens a database file it cannot write (an immutable or read-only file) read-only without saying so, and a
/// pooled connection opened then can keep failing with "attempt to write a readonly database" after the file is writable
/// again (seen in FormFaultTests' dataset upload: the retry after the outage failed with that error). On that error the
/// pool of the connection string is cleared, so the next operation opens a fresh connection.
/// </summary>
public sealed class SqliteReadOnlyRecovery : DbCommandInterceptor
{
    /// <summary>SQLITE_READONLY.</summary>
    private const int ReadOnly = 8;

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData)
    {
        ClearPoolOnReadOnly(command, eventData.Exception);
        base.CommandFailed(command, eventData);
    }

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        ClearPoolOnReadOnly(command, eventData.Exception);
        return base.CommandFailedAsync(command, eventData, cancellationToken);
    }

    private static void ClearPoolOnReadOnly(DbCommand command, Exception exception)
    {
        if (exception is SqliteException { SqliteErrorCode: ReadOnly } && command.Connection is SqliteConnection connection)
            SqliteConnection.ClearPool(connection);
    }
}
