using System;
using System.Globalization;
using System.IO;
using Microsoft.Data.Sqlite;

namespace StemeDb.Sync.Sqlite.Internal;

/// <summary>Creates or checks the schema of a store database and sets the connection's pragmas.</summary>
internal static class Schema
{
    /// <summary>Prepares the writer connection and returns the number of records held.</summary>
    public static long Initialize(SqliteConnection connection, string path, SqliteDurability durability, out long synchronous)
    {
        string journalMode = Convert.ToString(Scalar(connection, "PRAGMA journal_mode = WAL"), CultureInfo.InvariantCulture) ?? string.Empty;
        if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException($"The assertion store '{path}' could not switch to write-ahead-log mode (journal mode is '{journalMode}').");
        }

        Execute(connection, durability == SqliteDurability.PowerLossSafe ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        synchronous = (long)Scalar(connection, "PRAGMA synchronous")!;

        long applicationId = (long)Scalar(connection, "PRAGMA application_id")!;
        long userVersion = (long)Scalar(connection, "PRAGMA user_version")!;
        long tables = (long)Scalar(connection, "SELECT COUNT(*) FROM sqlite_schema")!;

        if (applicationId == 0 && userVersion == 0 && tables == 0)
        {
            using SqliteTransaction transaction = connection.BeginTransaction();
            Execute(connection, """
                CREATE TABLE assertions (
                    hash        BLOB    NOT NULL PRIMARY KEY,
                    data        BLOB    NOT NULL,
                    hlc_time    INTEGER NOT NULL,
                    hlc_counter INTEGER NOT NULL,
                    hlc_node    BLOB    NOT NULL
                )
                """, transaction);
            Execute(connection, $"PRAGMA application_id = {SqliteAssertionStore.ApplicationId}", transaction);
            Execute(connection, $"PRAGMA user_version = {SqliteAssertionStore.SchemaVersion}", transaction);
            transaction.Commit();
            return 0;
        }

        if (applicationId != SqliteAssertionStore.ApplicationId)
        {
            throw new IOException($"'{path}' is a SQLite database but not a StemeDb.Sync assertion store (application_id {applicationId}).");
        }

        if (userVersion > SqliteAssertionStore.SchemaVersion)
        {
            throw new IOException($"The assertion store '{path}' has schema version {userVersion}, written by a newer version of StemeDb.Sync.Sqlite; this version reads version {SqliteAssertionStore.SchemaVersion}.");
        }

        if (userVersion < 1)
        {
            throw new IOException($"The assertion store '{path}' has no schema version; the file is damaged.");
        }

        return (long)Scalar(connection, "SELECT COUNT(*) FROM assertions")!;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }
}
