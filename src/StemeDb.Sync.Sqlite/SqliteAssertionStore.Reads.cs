using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;

namespace StemeDb.Sync.Sqlite;

// The read side: each read opens its own connection (WAL readers do not block the writer) and sees one snapshot.
public sealed partial class SqliteAssertionStore
{
    /// <inheritdoc />
    public ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = CreateSelect(connection, out SqliteParameter parameter);
        parameter.Value = hash.ToArray();
        return new ValueTask<AssertionRecord?>(ReadRecord(command, hash, long.MaxValue, out _));
    }

    /// <inheritdoc />
    /// <remarks>Reads one snapshot; a hash asked for more than once is read once and returned as often as asked.</remarks>
    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
        GetManyCore(hashes, long.MaxValue, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Reads one snapshot, and learns each record's size before it copies the record out of the database.</remarks>
    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyWithinAsync(IReadOnlyList<AssertionHash> hashes, long maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        return GetManyCore(hashes, maxBytes, cancellationToken);
    }

    private ValueTask<IReadOnlyList<AssertionRecord>> GetManyCore(IReadOnlyList<AssertionHash> hashes, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var found = new List<AssertionRecord>(Math.Min(hashes.Count, 1024));
        if (hashes.Count == 0)
        {
            return new ValueTask<IReadOnlyList<AssertionRecord>>(found);
        }

        using SqliteConnection connection = OpenReader();

        // One read transaction: every lookup sees the same snapshot.
        using SqliteTransaction transaction = connection.BeginTransaction(deferred: true);
        using SqliteCommand command = CreateSelect(connection, out SqliteParameter parameter);
        command.Transaction = transaction;
        command.Prepare();
        byte[] key = new byte[AssertionHash.Length];
        Dictionary<AssertionHash, AssertionRecord>? seen = hashes.Count > 1 ? new Dictionary<AssertionHash, AssertionRecord>(Math.Min(hashes.Count, 1024)) : null;
        long total = 0;
        for (int i = 0; i < hashes.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            AssertionRecord? record;
            if (seen is not null && seen.TryGetValue(hashes[i], out AssertionRecord? again))
            {
                record = again; // the same record again, not a second copy
            }
            else
            {
                hashes[i].CopyTo(key);
                parameter.Value = key;
                long left = found.Count == 0 ? long.MaxValue : maxBytes - total;
                record = ReadRecord(command, hashes[i], left, out bool overBudget);
                if (overBudget)
                {
                    break;
                }

                if (record is not null)
                {
                    seen?.TryAdd(hashes[i], record);
                }
            }

            if (record is null)
            {
                continue;
            }

            if (found.Count > 0 && record.Data.Length > maxBytes - total)
            {
                break;
            }

            found.Add(record);
            total += record.Data.Length;
        }

        transaction.Commit();
        return new ValueTask<IReadOnlyList<AssertionRecord>>(found);
    }

    /// <inheritdoc />
    public ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM assertions WHERE hash = $hash";
        command.Parameters.Add("$hash", SqliteType.Blob).Value = hash.ToArray();
        return new ValueTask<bool>(command.ExecuteScalar() is not null);
    }

    /// <inheritdoc />
    /// <remarks>Counts the records committed by this store and those present when it was opened; no query is made.</remarks>
    public ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<long>(Interlocked.Read(ref _count));
    }

    /// <inheritdoc />
    /// <remarks>Enumerates one consistent snapshot, in ascending hash order.</remarks>
    public async IAsyncEnumerable<AssertionHash> EnumerateHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        SqliteConnection connection = OpenReader();
        await using (connection.ConfigureAwait(false))
        {
            SqliteCommand command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                command.CommandText = "SELECT hash FROM assertions ORDER BY hash";
                SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    byte[] buffer = new byte[AssertionHash.Length];
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        long read = reader.GetBytes(0, 0, buffer, 0, buffer.Length);
                        if (read != AssertionHash.Length)
                        {
                            throw new InvalidDataException($"The assertion store '{FilePath}' holds a hash of {read} bytes; the file is damaged.");
                        }

                        yield return new AssertionHash(buffer);
                    }
                }
            }
        }
    }

    private static SqliteCommand CreateSelect(SqliteConnection connection, out SqliteParameter parameter)
    {
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT length(data), data, hlc_time, hlc_counter, hlc_node FROM assertions WHERE hash = $hash";
        parameter = command.Parameters.Add("$hash", SqliteType.Blob);
        return command;
    }

    /// <summary>The record, or <see langword="null"/> when absent or, with <paramref name="overBudget"/>, larger than <paramref name="maxBytes"/> (then not copied).</summary>
    private AssertionRecord? ReadRecord(SqliteCommand command, AssertionHash hash, long maxBytes, out bool overBudget)
    {
        overBudget = false;
        using SqliteDataReader reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        // The record's length comes from its row header: a record over the budget is never copied out of the database.
        if (!reader.IsDBNull(0) && reader.GetInt64(0) > maxBytes)
        {
            overBudget = true;
            return null;
        }

        byte[] data = reader.IsDBNull(1) ? Array.Empty<byte>() : (byte[])reader.GetValue(1);
        ulong time = unchecked((ulong)reader.GetInt64(2));
        uint counter = unchecked((uint)reader.GetInt64(3));
        byte[] node = (byte[])reader.GetValue(4);
        if (node.Length != NodeId.Length)
        {
            throw new InvalidDataException($"The assertion store '{FilePath}' holds a node id of {node.Length} bytes for {hash}; the file is damaged.");
        }

        return new AssertionRecord(hash, data, new HlcTimestamp(time, counter, new NodeId(node)));
    }

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }
}
