using System;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace StemeDb.Sync.Sqlite.Internal;

/// <summary>
/// The writer's prepared <c>INSERT OR IGNORE</c> of one record, bound straight from the record's memory: SQLite copies
/// each value while it binds it, so no array is made per record and no parameter value is boxed. It runs inside the
/// transaction the writer began on the same connection.
/// </summary>
internal sealed class InsertStatement : IDisposable
{
    private const string Sql = "INSERT OR IGNORE INTO assertions (hash, data, hlc_time, hlc_counter, hlc_node) VALUES ($hash, $data, $time, $counter, $node)";

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly int _hash;
    private readonly int _data;
    private readonly int _time;
    private readonly int _counter;
    private readonly int _node;

    public InsertStatement(SqliteConnection connection)
    {
        _db = connection.Handle!;
        Check(raw.sqlite3_prepare_v2(_db, Sql, out _statement));
        _hash = raw.sqlite3_bind_parameter_index(_statement, "$hash");
        _data = raw.sqlite3_bind_parameter_index(_statement, "$data");
        _time = raw.sqlite3_bind_parameter_index(_statement, "$time");
        _counter = raw.sqlite3_bind_parameter_index(_statement, "$counter");
        _node = raw.sqlite3_bind_parameter_index(_statement, "$node");
    }

    /// <summary>Inserts the record unless its hash is present; returns whether it was inserted.</summary>
    /// <exception cref="SqliteException">SQLite failed the insert.</exception>
    public bool Execute(AssertionRecord record)
    {
        Span<byte> hash = stackalloc byte[AssertionHash.Length];
        Span<byte> node = stackalloc byte[NodeId.Length];
        record.Hash.CopyTo(hash);
        record.Timestamp.NodeId.CopyTo(node);
        ReadOnlySpan<byte> data = record.Data.Span;
        try
        {
            Check(raw.sqlite3_bind_blob(_statement, _hash, hash));

            // An empty span would bind NULL (the column is NOT NULL): bind an empty blob instead.
            Check(data.IsEmpty ? raw.sqlite3_bind_zeroblob(_statement, _data, 0) : raw.sqlite3_bind_blob(_statement, _data, data));
            Check(raw.sqlite3_bind_int64(_statement, _time, unchecked((long)record.Timestamp.Time)));
            Check(raw.sqlite3_bind_int64(_statement, _counter, record.Timestamp.Counter));
            Check(raw.sqlite3_bind_blob(_statement, _node, node));
            int rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_DONE)
            {
                Check(rc);
            }

            return raw.sqlite3_changes(_db) == 1;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _db);
}
