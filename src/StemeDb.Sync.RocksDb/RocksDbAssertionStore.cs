using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using RocksDbSharp;
using StemeDb.Sync.RocksDb.Internal;

namespace StemeDb.Sync.RocksDb;

/// <summary>
/// A durable <see cref="IAssertionStore"/> in one RocksDB database directory: records keyed by their hash, written in
/// group-committed write batches.
/// </summary>
/// <remarks>
/// <para>
/// Writes go through one background writer that puts every put waiting at that moment into one write batch (group
/// commit, up to <see cref="RocksDbAssertionStoreOptions.MaxBatchSize"/>) and writes it with one write of the
/// write-ahead log. <see cref="PutAsync"/> completes only after the batch holding its record was written, with the
/// guarantee chosen by <see cref="RocksDbAssertionStoreOptions.Durability"/>: by default the log was synced to stable
/// storage, so an acknowledged assertion survives a kill of the process, an operating system crash and a power loss. A
/// batch is atomic: after a crash it is there whole or not at all (RocksDB drops a torn last write when it recovers
/// the log), and none of its puts was acknowledged unless it is there.
/// </para>
/// <para>
/// A record is stored under its 32-byte hash, its value the HLC timestamp (28 bytes) followed by the assertion's bytes.
/// An in-memory Bloom filter of the held hashes, built when the store opens, tells the writer that a hash is new without
/// a read in almost every case. RocksDB's own lock file keeps a second store (in this process or another) from opening
/// the same directory; the operating system releases it if the process dies. On Unix, a directory the store creates is
/// readable by its owner only (0700).
/// </para>
/// <para>Thread-safe. Dispose it with <see cref="DisposeAsync"/>, which writes the puts already queued.</para>
/// </remarks>
public sealed class RocksDbAssertionStore : IAssertionStore, IAsyncDisposable
{
    /// <summary>The key that marks a database as a StemeDb.Sync store (it is not 32 bytes long, so no hash collides with it).</summary>
    private static readonly byte[] MarkerKey = Encoding.ASCII.GetBytes("stemedb.sync.store");

    /// <summary>The marker's value: the format version of the records.</summary>
    private static readonly byte[] FormatVersion = { 1 };

    private const int TimestampBytes = 8 + 4 + NodeId.Length;

    private readonly RocksDbSharp.RocksDb _db;
    private readonly WriteOptions _writeOptions;
    private readonly Channel<PendingPut> _queue;
    private readonly int _maxBatchSize;
    private readonly HashFilter _filter;
    private readonly Task _writer;
    private byte[] _value = new byte[4096];
    private List<AssertionHash>? _scanned;
    private long _count;
    private int _disposed;

    private RocksDbAssertionStore(string directory, RocksDbAssertionStoreOptions options, RocksDbSharp.RocksDb db, List<AssertionHash> scanned, HashFilter filter)
    {
        long count = scanned.Count;
        _scanned = scanned;
        DirectoryPath = directory;
        Durability = options.Durability;
        _db = db;
        _count = count;
        _filter = filter;
        _maxBatchSize = options.MaxBatchSize;
        _writeOptions = new WriteOptions().SetSync(options.Durability == RocksDbDurability.PowerLossSafe);
        _queue = Channel.CreateBounded<PendingPut>(new BoundedChannelOptions(options.WriteQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The full path of the database directory.</summary>
    public string DirectoryPath { get; }

    /// <summary>What a completed put survives.</summary>
    public RocksDbDurability Durability { get; }

    /// <summary>
    /// Opens the store in the database directory <paramref name="directory"/>, creating it if needed. Opening reads
    /// every key once (to count the records and build the store's filter of held hashes): about a second per million
    /// records.
    /// </summary>
    /// <param name="directory">The database directory; it holds only this store's files.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <returns>The open store; dispose it with <see cref="DisposeAsync"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="IOException">
    /// The store is already open (here or in another process), the directory holds another database or one written by
    /// a newer version, or it cannot be opened.
    /// </exception>
    public static RocksDbAssertionStore Open(string directory, RocksDbAssertionStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        RocksDbAssertionStoreOptions settings = (options ?? new RocksDbAssertionStoreOptions()).Clone();
        settings.Validate();
        string fullPath = Path.GetFullPath(directory);
        bool existed = Directory.Exists(fullPath) && Directory.GetFileSystemEntries(fullPath).Length != 0;
        CreateOwnerOnly(fullPath);

        RocksDbSharp.RocksDb db;
        try
        {
            db = RocksDbSharp.RocksDb.Open(DbOptions(), fullPath);
        }
        catch (RocksDbException ex) when (ex.Message.Contains("lock", StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException($"The RocksDB store at '{fullPath}' is already open (in this process or another): {ex.Message}", ex);
        }
        catch (RocksDbException ex)
        {
            throw new IOException($"The RocksDB store at '{fullPath}' cannot be opened: {ex.Message}", ex);
        }

        try
        {
            byte[]? marker = db.Get(MarkerKey);
            if (marker is null)
            {
                if (existed && HasAnyKey(db))
                {
                    throw new IOException($"'{fullPath}' holds a RocksDB database that is not a StemeDb.Sync store.");
                }

                db.Put(MarkerKey, FormatVersion, null, new WriteOptions().SetSync(true));
            }
            else if (marker.Length != 1 || marker[0] > FormatVersion[0])
            {
                throw new IOException($"The store at '{fullPath}' was written by a newer version (format {(marker.Length == 0 ? 0 : marker[0])}).");
            }

            (List<AssertionHash> hashes, HashFilter filter) = Scan(db);
            return new RocksDbAssertionStore(fullPath, settings, db, hashes, filter);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        _scanned = null;
        var pending = new PendingPut(record);
        if (_queue.Writer.TryWrite(pending))
        {
            return new ValueTask<bool>(pending.Completion.Task);
        }

        return EnqueueAsync(pending, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The whole call is one unit of the writer: its records go into one write batch (with the puts waiting beside it),
    /// written with one write of the log, so that a bulk load costs one log sync per call, not per record. The records'
    /// bytes are copied into the batch; the call returns after the batch was written.
    /// </remarks>
    public ValueTask PutManyAsync(ReadOnlyMemory<AssertionRecord> records, Memory<bool> added, CancellationToken cancellationToken = default)
    {
        if (added.Length < records.Length)
        {
            throw new ArgumentException($"{added.Length} flags for {records.Length} records.", nameof(added));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (records.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        _scanned = null;
        var pending = new PendingPut(records, added);
        if (_queue.Writer.TryWrite(pending))
        {
            return new ValueTask(pending.Completion.Task);
        }

        return new ValueTask(EnqueueAsync(pending, cancellationToken).AsTask());
    }

    /// <inheritdoc />
    public ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        byte[]? value = _db.Get(hash.ToArray());
        return new ValueTask<AssertionRecord?>(value is null ? null : Decode(hash, value));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var records = new List<AssertionRecord>(hashes.Count);
        foreach (AssertionHash hash in hashes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_db.Get(hash.ToArray()) is { } value)
            {
                records.Add(Decode(hash, value));
            }
        }

        return new ValueTask<IReadOnlyList<AssertionRecord>>(records);
    }

    /// <inheritdoc />
    public ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new ValueTask<bool>(_db.HasKey(hash.ToArray()));
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<long>(Interlocked.Read(ref _count));
    }

    /// <inheritdoc />
    /// <remarks>Reads a snapshot in hash order: a put that completes during the enumeration may or may not be in it.</remarks>
    public async IAsyncEnumerable<AssertionHash> EnumerateHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // The first enumeration after the open, before any put (a node's start), reuses the hashes the open read, so that
        // a restart reads the database once, not twice.
        if (Interlocked.Exchange(ref _scanned, null) is { } scanned && scanned.Count == Interlocked.Read(ref _count))
        {
            for (int i = 0; i < scanned.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return scanned[i];
            }

            yield break;
        }

        using Snapshot snapshot = _db.CreateSnapshot();
        var readOptions = new ReadOptions();
        readOptions.SetSnapshot(snapshot);
        readOptions.SetFillCache(false);
        using Iterator iterator = _db.NewIterator(null, readOptions);
        int sinceYield = 0;
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
        {
            byte[] key = iterator.Key();
            if (key.Length != AssertionHash.Length)
            {
                continue; // the marker
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return new AssertionHash(key);
            if (++sinceYield == 4096)
            {
                sinceYield = 0;
                await Task.Yield();
            }
        }
    }

    /// <summary>Writes the puts already queued, then closes the database.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _db.Dispose();
    }

    private async ValueTask<bool> EnqueueAsync(PendingPut pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(RocksDbAssertionStore));
        }

        return await pending.Completion.Task.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var items = new List<PendingPut>();
        var inBatch = new HashSet<AssertionHash>();
        ChannelReader<PendingPut> reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            items.Clear();
            inBatch.Clear();
            int records = 0;
            while (records < _maxBatchSize && reader.TryRead(out PendingPut? pending))
            {
                items.Add(pending);
                records += pending.Records.Length;
            }

            WriteBatchOf(items, records, inBatch);
        }
    }

    /// <summary>Writes the records of <paramref name="items"/> (<paramref name="count"/> in all) in one write batch, then completes each item.</summary>
    private void WriteBatchOf(List<PendingPut> items, int count, HashSet<AssertionHash> inBatch)
    {
        bool[] added = System.Buffers.ArrayPool<bool>.Shared.Rent(count);
        int addedCount = 0;
        try
        {
            try
            {
                using var write = new WriteBatch();
                Span<byte> key = stackalloc byte[AssertionHash.Length];
                int next = 0;
                foreach (PendingPut item in items)
                {
                    ReadOnlySpan<AssertionRecord> records = item.Records.Span;
                    for (int i = 0; i < records.Length; i++, next++)
                    {
                        AssertionRecord record = records[i];
                        record.Hash.CopyTo(key);
                        if (!inBatch.Add(record.Hash) || (_filter.MightContain(record.Hash) && _db.HasKey(key, null, null)))
                        {
                            added[next] = false; // already held, or put twice in this batch: not added
                            continue;
                        }

                        int length = TimestampBytes + record.Data.Length;
                        if (_value.Length < length)
                        {
                            _value = new byte[Math.Max(length, _value.Length * 2)];
                        }

                        Encode(record, _value);
                        write.Put(key, _value.AsSpan(0, length), null);
                        added[next] = true;
                        addedCount++;
                    }
                }

                if (addedCount != 0)
                {
                    _db.Write(write, _writeOptions);
                }
            }
            catch (Exception ex)
            {
                var failure = new IOException($"The RocksDB store at '{DirectoryPath}' could not write a batch of {count} puts: {ex.Message}", ex);
                foreach (PendingPut item in items)
                {
                    item.Completion.TrySetException(failure);
                }

                return;
            }

            int at = 0;
            foreach (PendingPut item in items)
            {
                ReadOnlySpan<AssertionRecord> records = item.Records.Span;
                for (int i = 0; i < records.Length; i++)
                {
                    if (added[at + i])
                    {
                        _filter.Add(records[i].Hash);
                    }
                }

                at += records.Length;
            }

            Interlocked.Add(ref _count, addedCount);
            at = 0;
            foreach (PendingPut item in items)
            {
                item.Complete(added.AsSpan(at, item.Records.Length));
                at += item.Records.Length;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<bool>.Shared.Return(added);
        }
    }

    private static void Encode(AssertionRecord record, Span<byte> value)
    {
        ReadOnlySpan<byte> data = record.Data.Span;
        HlcTimestamp timestamp = record.Timestamp;
        BinaryPrimitives.WriteUInt64LittleEndian(value, timestamp.Time);
        BinaryPrimitives.WriteUInt32LittleEndian(value[8..], timestamp.Counter);
        timestamp.NodeId.CopyTo(value.Slice(12, NodeId.Length));
        data.CopyTo(value[TimestampBytes..]);
    }

    private AssertionRecord Decode(AssertionHash hash, byte[] value)
    {
        if (value.Length < TimestampBytes)
        {
            throw new InvalidDataException($"The record {hash} in the store at '{DirectoryPath}' is {value.Length} bytes, shorter than its timestamp.");
        }

        var nodeId = new NodeId(value.AsSpan(12, NodeId.Length));
        HlcTimestamp timestamp = nodeId == NodeId.Empty
            ? HlcTimestamp.None
            : new HlcTimestamp(BinaryPrimitives.ReadUInt64LittleEndian(value), BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(8)), nodeId);
        return new AssertionRecord(hash, value.AsMemory(TimestampBytes), timestamp);
    }

    private static (List<AssertionHash> Hashes, HashFilter Filter) Scan(RocksDbSharp.RocksDb db)
    {
        var hashes = new List<AssertionHash>();
        {
            var readOptions = new ReadOptions();
            readOptions.SetFillCache(false);
            using Iterator iterator = db.NewIterator(null, readOptions);
            for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
            {
                byte[] key = iterator.Key();
                if (key.Length == AssertionHash.Length)
                {
                    hashes.Add(new AssertionHash(key));
                }
            }
        }

        var filter = new HashFilter(Math.Max(1L << 20, hashes.Count * 2L));
        foreach (AssertionHash hash in hashes)
        {
            filter.Add(hash);
        }

        return (hashes, filter);
    }

    private static bool HasAnyKey(RocksDbSharp.RocksDb db)
    {
        using Iterator iterator = db.NewIterator();
        iterator.SeekToFirst();
        return iterator.Valid();
    }

    private static DbOptions DbOptions()
    {
        // Assertions are small and their keys random: no compression (it would spend CPU for nothing on hashes), a Bloom
        // filter on the tables for point reads, and memtables of 64 MiB so that bulk loads flush in large files.
        var table = new BlockBasedTableOptions()
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetWholeKeyFiltering(true);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCompression(Compression.No)
            .SetWriteBufferSize(64 << 20)
            .SetBlockBasedTableFactory(table)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount));
        return options;
    }

    private static void CreateOwnerOnly(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>What waits for the writer: one put, or the records of one <see cref="PutManyAsync"/> call.</summary>
    private sealed class PendingPut
    {
        private readonly AssertionRecord[]? _single;
        private readonly Memory<bool> _added;

        public PendingPut(AssertionRecord record)
        {
            _single = [record];
            Records = _single;
        }

        public PendingPut(ReadOnlyMemory<AssertionRecord> records, Memory<bool> added)
        {
            Records = records;
            _added = added;
        }

        /// <summary>The records, in order.</summary>
        public ReadOnlyMemory<AssertionRecord> Records { get; }

        /// <summary>Completes with the one put's flag, or after writing each record's flag into the call's.</summary>
        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Complete(ReadOnlySpan<bool> added)
        {
            if (_single is not null)
            {
                Completion.TrySetResult(added[0]);
                return;
            }

            added.CopyTo(_added.Span);
            Completion.TrySetResult(true);
        }
    }
}
