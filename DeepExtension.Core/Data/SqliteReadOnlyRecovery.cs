using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace DeepExtension.Core.Data;

/// <summary>
/// SQLite opens a database file it cannot write (made immutable or read-only for a while) read-only without saying so,
/// and the pool would hand that connection out again after the file is writable: every write on it then fails with
/// "attempt to write a readonly database" (DatabaseFaultTests). A connection that opened read-only is kept out of the
/// pool, so the first operation after the outage opens a fresh, writable one.
/// </summary>
public sealed class SqliteReadOnlyRecovery : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => KeepOutOfPoolIfReadOnly(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        KeepOutOfPoolIfReadOnly(connection);
        return Task.CompletedTask;
    }

    private static void KeepOutOfPoolIfReadOnly(DbConnection connection)
    {
        // ClearPool: the open connections of this connection string are closed, not pooled, when released.
        if (connection is SqliteConnection { Handle: { } handle } sqlite && SQLitePCL.raw.sqlite3_db_readonly(handle, "main") == 1)
            SqliteConnection.ClearPool(sqlite);
    }
}
