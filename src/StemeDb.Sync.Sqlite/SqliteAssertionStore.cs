using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using StemeDb.Sync.Sqlite.Internal;

namespace StemeDb.Sync.Sqlite;

/// <summary>
/// A durable <see cref="IAssertionStore"/> in one SQLite database file, in write-ahead-log mode.
/// </summary>
/// <remarks>
/// <para>
/// Writes go through one background writer that commits every put waiting at that moment in one transaction
/// (group commit, up to <see cref="SqliteAssertionStoreOptions.MaxBatchSize"/>). <see cref="PutAsync"/> completes
/// only after the transaction holding its record has committed, with the guarantee chosen by
/// <see cref="SqliteAssertionStoreOptions.Durability"/>: by default the write-ahead log has been flushed to stable
/// storage, so an acknowledged assertion survives a kill of the process, an operating system crash and a power loss.
/// </para>
/// <para>
/// Reads use their own pooled connections and see every committed put. The store takes an exclusive lock on a
/// companion file (<c>&lt;path&gt;-lock</c>) for as long as it is open, so that two stores (in this process or
/// another) never share one database; the operating system releases the lock if the process dies.
/// </para>
/// <para>Thread-safe. Dispose it with <see cref="DisposeAsync"/>, which commits the puts already queued.</para>
/// </remarks>
public sealed partial class SqliteAssertionStore : IAssertionStore, IAsyncDisposable
{
    /// <summary>The SQLite <c>application_id</c> that marks a database as a StemeDb.Sync store ("STMS").</summary>
    internal const int ApplicationId = 0x53544D53;

    /// <summary>The schema version written to <c>user_version</c>.</summary>
    internal const int SchemaVersion = 1;

    private readonly string _connectionString;
    private readonly SqliteConnection _writeConnection;
    private readonly InsertStatement _insert;
    private readonly Channel<PendingPut> _queue;
    private readonly FileStream _lock;
    private readonly int _maxBatchSize;
    private readonly Task _writer;
    private long _count;
    private int _disposed;

    private SqliteAssertionStore(string path, SqliteAssertionStoreOptions options, FileStream lockFile, SqliteConnection writeConnection, string connectionString, long count)
    {
        FilePath = path;
        Durability = options.Durability;
        _lock = lockFile;
        _writeConnection = writeConnection;
        _connectionString = connectionString;
        _count = count;
        _maxBatchSize = options.MaxBatchSize;

        _insert = new InsertStatement(writeConnection);

        _queue = Channel.CreateBounded<PendingPut>(new BoundedChannelOptions(options.WriteQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The full path of the database file.</summary>
    public string FilePath { get; }

    /// <summary>What a completed put survives.</summary>
    public SqliteDurability Durability { get; }

    /// <summary>The writer connection's <c>synchronous</c> pragma as SQLite reported it after it was set (1 NORMAL, 2 FULL).</summary>
    internal long WriterSynchronousPragma { get; private init; }

    /// <summary>
    /// Opens the store in the database file at <paramref name="path"/>, creating the file (and its directory) and the
    /// schema if needed. On Unix, a database file it creates is readable and writable by its owner only (0600), and so
    /// are the <c>-wal</c> and <c>-shm</c> files SQLite creates next to it (SQLite gives them the database file's mode).
    /// </summary>
    /// <param name="path">The database file. Its directory also receives the write-ahead log and the lock file.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <returns>The open store; dispose it with <see cref="DisposeAsync"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or an in-memory database name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="IOException">
    /// The store is already open (here or in another process), the file is not a StemeDb.Sync store or was written by
    /// a newer version, or the file cannot be opened.
    /// </exception>
    public static SqliteAssertionStore Open(string path, SqliteAssertionStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path.StartsWith(':'))
        {
            throw new ArgumentException("The SQLite store needs a file path; use InMemoryAssertionStore for a store without a file.", nameof(path));
        }

        SqliteAssertionStoreOptions settings = (options ?? new SqliteAssertionStoreOptions()).Clone();
        settings.Validate();

        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        FileStream lockFile = AcquireLock(fullPath);
        SqliteConnection? connection = null;
        try
        {
            CreateOwnerOnly(fullPath);
            string connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = Math.Max(1, (int)Math.Ceiling(settings.BusyTimeout.TotalSeconds)),
            }.ToString();

            connection = new SqliteConnection(connectionString);
            connection.Open();
            long count = Schema.Initialize(connection, fullPath, settings.Durability, out long synchronous);
            return new SqliteAssertionStore(fullPath, settings, lockFile, connection, connectionString, count) { WriterSynchronousPragma = synchronous };
        }
        catch (SqliteException ex)
        {
            Abandon(connection, lockFile);
            throw new IOException($"Cannot open the assertion store '{fullPath}': {ex.Message}", ex);
        }
        catch
        {
            Abandon(connection, lockFile);
            throw;
        }
    }

    /// <summary>Opens the store asynchronously; see <see cref="Open"/>.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the open before it starts.</param>
    /// <returns>The open store.</returns>
    public static async ValueTask<SqliteAssertionStore> OpenAsync(string path, SqliteAssertionStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // Opening runs the schema check and a count, which SQLite does synchronously: keep it off the caller's thread.
        return await Task.Run(() => Open(path, options), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Completes after the transaction holding the record has committed with the configured <see cref="Durability"/>.</remarks>
    public ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        // Failures in the returned task, as from an async method.
        if (record is null)
        {
            return ValueTask.FromException<bool>(new ArgumentNullException(nameof(record)));
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromException<bool>(new ObjectDisposedException(GetType().FullName));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        // While the queue has room (the usual case), no state machine: the put's task is the commit's.
        var pending = new PendingPut(record);
        return _queue.Writer.TryWrite(pending) ? new ValueTask<bool>(WaitForCommit(pending, cancellationToken)) : EnqueueAndWaitAsync(pending, cancellationToken);
    }

    /// <summary>
    /// Stops accepting puts, commits the puts already queued, closes the database and releases the lock file.
    /// Idempotent. Reads must not be in progress.
    /// </summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _insert.Dispose();
        SqliteConnection.ClearPool(_writeConnection);
        _writeConnection.Dispose();
        await _lock.DisposeAsync().ConfigureAwait(false);
    }

    private static void Abandon(SqliteConnection? connection, FileStream lockFile)
    {
        if (connection is not null)
        {
            // Do not leave a pooled handle on a file that failed to open: it would be reused by the next open.
            SqliteConnection.ClearPool(connection);
            connection.Dispose();
        }

        lockFile.Dispose();
    }

    /// <summary>
    /// Creates the database file, empty (SQLite makes it a database), readable and writable by its owner only (0600) on
    /// Unix: it holds every assertion. SQLite gives the write-ahead log and shared-memory files it creates next to it
    /// (<c>-wal</c>, <c>-shm</c>) the mode of the database file. An existing file keeps its mode.
    /// </summary>
    private static void CreateOwnerOnly(string fullPath)
    {
        if (OperatingSystem.IsWindows() || File.Exists(fullPath))
        {
            return;
        }

        try
        {
            using var created = new FileStream(fullPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(fullPath))
        {
            // Created meanwhile by a process that does not take the lock: SQLite opens it as it is.
        }
    }

    private static FileStream AcquireLock(string fullPath)
    {
        string lockPath = fullPath + "-lock";
        try
        {
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The assertion store '{fullPath}' is already open in this or another process (lock file '{lockPath}').", ex);
        }
    }

    /// <summary>The put's task: completed after the transaction holding it commits; cancellable while it waits.</summary>
    private static Task<bool> WaitForCommit(PendingPut pending, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? pending.Task.WaitAsync(cancellationToken) : pending.Task;

    /// <summary>A put that found the queue full (or the store closing): waits for room, then for its commit.</summary>
    private async ValueTask<bool> EnqueueAndWaitAsync(PendingPut pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SqliteAssertionStore));
        }

        return await WaitForCommit(pending, cancellationToken).ConfigureAwait(false);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private async Task WriteLoopAsync()
    {
        ChannelReader<PendingPut> reader = _queue.Reader;
        var batch = new List<PendingPut>(Math.Min(_maxBatchSize, 1024));
        bool[] added = new bool[Math.Min(_maxBatchSize, 1024)];
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatchSize && reader.TryRead(out PendingPut? pending))
            {
                batch.Add(pending);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            if (added.Length < batch.Count)
            {
                added = new bool[batch.Count];
            }

            CommitBatch(batch, added);
        }
    }

    private void CommitBatch(List<PendingPut> batch, bool[] added)
    {
        int addedCount = 0;
        try
        {
            using (SqliteTransaction transaction = _writeConnection.BeginTransaction())
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    added[i] = _insert.Execute(batch[i].Record);
                    if (added[i])
                    {
                        addedCount++;
                    }
                }

                transaction.Commit();
            }
        }
        catch (Exception ex)
        {
            var failure = new IOException($"Writing to the assertion store '{FilePath}' failed: {ex.Message}", ex);
            foreach (PendingPut pending in batch)
            {
                pending.TrySetException(failure);
            }

            return;
        }

        Interlocked.Add(ref _count, addedCount);
        for (int i = 0; i < batch.Count; i++)
        {
            batch[i].TrySetResult(added[i]);
        }
    }
}
