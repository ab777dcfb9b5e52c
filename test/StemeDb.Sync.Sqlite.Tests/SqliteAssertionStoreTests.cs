using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Sqlite.Tests;

[TestFixture]
public sealed class SqliteAssertionStoreTests
{
    private string _directory = null!;

    private string DbPath => Path.Combine(_directory, "store.db");

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "stemedb-sqlite-tests-" + Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task GetManyAsync_OneHashAskedAThousandTimes_ReadsOneCopyOfTheRecord()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        AssertionRecord record = TestRecords.Create(1);
        await store.PutAsync(record);

        IReadOnlyList<AssertionRecord> found = await store.GetManyAsync(Enumerable.Repeat(record.Hash, 1000).ToArray());

        Assert.That(found, Has.Count.EqualTo(1000), "as often as asked");
        Assert.That(found.Distinct(ReferenceEqualityComparer.Instance).Count(), Is.EqualTo(1), "one copy of the record, not one per duplicate");
    }

    [Test]
    public async Task Open_NewPath_CreatesEmptyStoreInWalMode()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);

        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(File.Exists(DbPath), Is.True);
        Assert.That(store.FilePath, Is.EqualTo(Path.GetFullPath(DbPath)));
        using var probe = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        probe.Open();
        using SqliteCommand command = probe.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.That(command.ExecuteScalar(), Is.EqualTo("wal"));
    }

    [Test]
    [Platform(Exclude = "Win", Reason = "Unix file modes")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Open_NewPath_DatabaseWalAndSharedMemoryFilesAreOwnerOnly()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        await store.PutAsync(TestRecords.Create(1));

        string[] files = [DbPath, DbPath + "-wal", DbPath + "-shm"];

        Assert.That(files.Select(File.Exists), Is.All.True, "SQLite in WAL mode keeps both companions while the store is open");
        Assert.That(files.Select(File.GetUnixFileMode), Is.All.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    [Platform(Exclude = "Win", Reason = "Unix file modes")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Open_ExistingFile_KeepsItsMode()
    {
        Directory.CreateDirectory(_directory);
        await using (SqliteAssertionStore created = await SqliteAssertionStore.OpenAsync(DbPath))
        {
            await created.PutAsync(TestRecords.Create(1));
        }

        SqliteConnection.ClearAllPools();
        UnixFileMode chosen = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(DbPath, chosen);

        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);

        Assert.That(await store.CountAsync(), Is.EqualTo(1));
        Assert.That(File.GetUnixFileMode(DbPath), Is.EqualTo(chosen), "a host that chose a mode keeps it");
    }

    [Test]
    public async Task PutAsync_NewRecord_ReturnsTrueAndRoundTripsEveryField()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        byte[] data = [1, 2, 3, 4, 5];
        var record = new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(ulong.MaxValue, uint.MaxValue, NodeId.NewId()));

        bool added = await store.PutAsync(record);
        AssertionRecord? read = await store.GetAsync(record.Hash);

        Assert.That(added, Is.True);
        Assert.That(read, Is.Not.Null);
        Assert.That(read!.Hash, Is.EqualTo(record.Hash));
        Assert.That(read.Data.ToArray(), Is.EqualTo(data));
        Assert.That(read.Timestamp, Is.EqualTo(record.Timestamp));
        Assert.That(await store.ContainsAsync(record.Hash), Is.True);
        Assert.That(await store.CountAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task PutAsync_SameRecordTwice_SecondReturnsFalseAndCountStaysOne()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        AssertionRecord record = TestRecords.Create(1);

        bool first = await store.PutAsync(record);
        bool second = await store.PutAsync(record);

        Assert.That(first, Is.True);
        Assert.That(second, Is.False);
        Assert.That(await store.CountAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task PutAsync_ConcurrentDuplicates_ExactlyOneReportsAdded()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        AssertionRecord record = TestRecords.Create(7);

        bool[] results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => store.PutAsync(record).AsTask()));

        Assert.That(results.Count(r => r), Is.EqualTo(1));
        Assert.That(await store.CountAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task PutAsync_ManyConcurrentPuts_AreGroupCommittedAndAllReadable()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath, new SqliteAssertionStoreOptions { MaxBatchSize = 64, WriteQueueCapacity = 128 });
        AssertionRecord[] records = Enumerable.Range(0, 1000).Select(i => TestRecords.Create(i)).ToArray();

        bool[] results = await Task.WhenAll(records.Select(r => store.PutAsync(r).AsTask()));
        var enumerated = new List<AssertionHash>();
        await foreach (AssertionHash hash in store.EnumerateHashesAsync())
        {
            enumerated.Add(hash);
        }

        Assert.That(results, Is.All.True);
        Assert.That(await store.CountAsync(), Is.EqualTo(1000));
        Assert.That(enumerated, Is.EquivalentTo(records.Select(r => r.Hash)));
        Assert.That(enumerated, Is.Ordered);
    }

    [Test]
    public async Task GetManyAsync_MixOfKnownAndUnknown_ReturnsKnownInRequestOrder()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        AssertionRecord a = TestRecords.Create(1);
        AssertionRecord b = TestRecords.Create(2);
        await store.PutAsync(a);
        await store.PutAsync(b);
        AssertionHash unknown = TestRecords.Create(3).Hash;

        IReadOnlyList<AssertionRecord> found = await store.GetManyAsync([b.Hash, unknown, a.Hash]);

        Assert.That(found.Select(r => r.Hash), Is.EqualTo(new[] { b.Hash, a.Hash }));
        Assert.That(found[0].Data.ToArray(), Is.EqualTo(b.Data.ToArray()));
    }

    [Test]
    public async Task GetAsync_UnknownHash_ReturnsNull()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);

        Assert.That(await store.GetAsync(TestRecords.Create(5).Hash), Is.Null);
        Assert.That(await store.ContainsAsync(TestRecords.Create(5).Hash), Is.False);
    }

    [Test]
    public async Task Open_AfterDispose_ReopensWithEveryRecordAndCount()
    {
        AssertionRecord[] records = Enumerable.Range(0, 200).Select(i => TestRecords.Create(i)).ToArray();
        await using (SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath))
        {
            await Task.WhenAll(records.Select(r => store.PutAsync(r).AsTask()));
        }

        await using SqliteAssertionStore reopened = await SqliteAssertionStore.OpenAsync(DbPath);

        Assert.That(await reopened.CountAsync(), Is.EqualTo(200));
        IReadOnlyList<AssertionRecord> all = await reopened.GetManyAsync(records.Select(r => r.Hash).ToArray());
        Assert.That(all.Select(r => r.Timestamp), Is.EqualTo(records.Select(r => r.Timestamp)));
        Assert.That(await reopened.PutAsync(records[0]), Is.False);
    }

    [Test]
    public async Task IngestManyAsync_BulkLoadIntoNode_EveryAssertionDurableAndIndexedAfterReopen()
    {
        // Arrange: a node over the store; the batch is larger than one group commit.
        AssertionRecord[] records = Enumerable.Range(0, 3000).Select(i => TestRecords.Create(i)).ToArray();
        var options = new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan, ContentValidator = AcceptAllContentValidator.Instance };
        IReadOnlyList<IngestResult> results;
        AssertionHash root;
        await using (SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath))
        {
            await using var node = new SyncNode(options, store);
            await node.StartAsync();

            // Act
            results = await node.IngestManyAsync(records.Select(r => r.Data).ToArray());
            root = node.Root;
        }

        // Assert: all added, and a node over the reopened store rebuilds the same index.
        Assert.That(results.All(r => r.Added), Is.True);
        await using SqliteAssertionStore reopened = await SqliteAssertionStore.OpenAsync(DbPath);
        Assert.That(await reopened.CountAsync(), Is.EqualTo(records.Length));
        await using var restarted = new SyncNode(options, reopened);
        await restarted.StartAsync();
        Assert.That(restarted.Count, Is.EqualTo(records.Length));
        Assert.That(restarted.Root, Is.EqualTo(root));
        AssertionRecord? sample = await reopened.GetAsync(results[1234].Hash);
        Assert.That(sample!.Timestamp, Is.EqualTo(results[1234].Timestamp));
        Assert.That(sample.Data.ToArray(), Is.EqualTo(records[1234].Data.ToArray()));
    }

    [Test]
    public async Task PutAsync_DataIsASliceOfALargerArray_StoresExactlyTheSlice()
    {
        // The writer binds the record's memory as it is: an offset and a length inside a larger array.
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        byte[] buffer = new byte[300];
        new Random(7).NextBytes(buffer);
        ReadOnlyMemory<byte> slice = buffer.AsMemory(100, 150);
        var record = new AssertionRecord(AssertionHash.Compute(slice.Span), slice, new HlcTimestamp(1_700_000_000_000, 3, NodeId.NewId()));

        bool added = await store.PutAsync(record);
        AssertionRecord? read = await store.GetAsync(record.Hash);

        Assert.That(added, Is.True);
        Assert.That(read!.Data.ToArray(), Is.EqualTo(slice.ToArray()));
        Assert.That(read.Timestamp, Is.EqualTo(record.Timestamp));
    }

    [Test]
    public async Task ImportAsync_StreamIntoANodeOverTheStore_EveryRecordStoredByteForByteWithItsTimestamp()
    {
        // Arrange: a stream of 2,500 records (three import batches, more than two group commits), sizes 0 to 2 KB.
        AssertionRecord[] records = Enumerable.Range(0, 2500).Select(i => TestRecords.Create(i, size: i % 97 == 0 ? i % 2048 : 64)).ToArray();
        var source = new InMemoryAssertionStore();
        foreach (AssertionRecord record in records)
        {
            await source.PutAsync(record);
        }

        var stream = new MemoryStream();
        await AssertionStream.ExportAsync(source, stream);
        stream.Position = 0;
        var options = new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan, ContentValidator = AcceptAllContentValidator.Instance };
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        await using var node = new SyncNode(options, store);
        await node.StartAsync();

        // Act
        AssertionImportResult result = await AssertionStream.ImportAsync(stream, node);

        // Assert
        Assert.That((result.Records, result.Added), Is.EqualTo((2500L, 2500L)));
        Assert.That(await store.CountAsync(), Is.EqualTo(2500));
        IReadOnlyList<AssertionRecord> stored = await store.GetManyAsync(records.Select(r => r.Hash).ToArray());
        Assert.That(stored.Select(r => r.Timestamp), Is.EqualTo(records.Select(r => r.Timestamp)));
        Assert.That(stored.Select(r => r.Data.ToArray()), Is.EqualTo(records.Select(r => r.Data.ToArray())));
    }

    [Test]
    public async Task Open_WhileAlreadyOpen_ThrowsIOExceptionNamingTheLock()
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);

        IOException? ex = Assert.Throws<IOException>(() => SqliteAssertionStore.Open(DbPath));

        Assert.That(ex!.Message, Does.Contain("already open"));
    }

    [Test]
    public async Task Open_AfterOtherStoreDisposed_Succeeds()
    {
        SqliteAssertionStore first = SqliteAssertionStore.Open(DbPath);
        await first.DisposeAsync();

        await using SqliteAssertionStore second = SqliteAssertionStore.Open(DbPath);

        Assert.That(await second.CountAsync(), Is.Zero);
    }

    [Test]
    public void Open_ForeignSqliteDatabase_ThrowsIOExceptionAndLeavesItUntouched()
    {
        Directory.CreateDirectory(_directory);
        using (var foreign = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            foreign.Open();
            using SqliteCommand create = foreign.CreateCommand();
            create.CommandText = "CREATE TABLE people (name TEXT)";
            create.ExecuteNonQuery();
        }

        IOException? ex = Assert.Throws<IOException>(() => SqliteAssertionStore.Open(DbPath));

        Assert.That(ex!.Message, Does.Contain("not a StemeDb.Sync assertion store"));
        using var probe = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        probe.Open();
        using SqliteCommand tables = probe.CreateCommand();
        tables.CommandText = "SELECT group_concat(name) FROM sqlite_schema";
        Assert.That(tables.ExecuteScalar(), Is.EqualTo("people"));
    }

    [Test]
    public void Open_FileThatIsNotSqlite_ThrowsIOException()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(DbPath, new string('x', 4096));

        Assert.Throws<IOException>(() => SqliteAssertionStore.Open(DbPath));
        Assert.That(File.ReadAllText(DbPath), Is.EqualTo(new string('x', 4096)));
    }

    [Test]
    public async Task Open_LockReleasedAfterFailedOpen_AllowsLaterOpen()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(DbPath, new string('x', 4096));
        Assert.Throws<IOException>(() => SqliteAssertionStore.Open(DbPath));
        File.Delete(DbPath);

        await using SqliteAssertionStore store = SqliteAssertionStore.Open(DbPath);

        Assert.That(await store.CountAsync(), Is.Zero);
    }

    [TestCase("")]
    [TestCase(" ")]
    [TestCase(":memory:")]
    public void Open_InvalidPath_ThrowsArgumentException(string path)
    {
        Assert.Throws(Is.InstanceOf<ArgumentException>(), () => SqliteAssertionStore.Open(path));
    }

    [Test]
    public void Open_InvalidOptions_ThrowsWithTheSettingNamed()
    {
        var options = new SqliteAssertionStoreOptions { MaxBatchSize = 0 };

        ArgumentOutOfRangeException? ex = Assert.Throws<ArgumentOutOfRangeException>(() => SqliteAssertionStore.Open(DbPath, options));

        Assert.That(ex!.ParamName, Is.EqualTo(nameof(SqliteAssertionStoreOptions.MaxBatchSize)));
        Assert.That(Directory.Exists(_directory), Is.False);
    }

    [Test]
    public async Task PutAsync_AfterDispose_ThrowsObjectDisposed()
    {
        SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        await store.DisposeAsync();

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.PutAsync(TestRecords.Create(1)));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.CountAsync());
    }

    [Test]
    public async Task DisposeAsync_WithQueuedPuts_CommitsThemBeforeClosing()
    {
        AssertionRecord[] records = Enumerable.Range(0, 500).Select(i => TestRecords.Create(i)).ToArray();
        SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath);
        Task<bool>[] puts = records.Select(r => store.PutAsync(r).AsTask()).ToArray();

        await store.DisposeAsync();
        bool[] results = await Task.WhenAll(puts);
        await using SqliteAssertionStore reopened = await SqliteAssertionStore.OpenAsync(DbPath);

        Assert.That(results, Is.All.True);
        Assert.That(await reopened.CountAsync(), Is.EqualTo(500));
    }

    [TestCase(SqliteDurability.PowerLossSafe, 2L)]
    [TestCase(SqliteDurability.ProcessCrashSafe, 1L)]
    public async Task Open_Durability_SetsSynchronousPragmaOnTheWriter(SqliteDurability durability, long expected)
    {
        await using SqliteAssertionStore store = await SqliteAssertionStore.OpenAsync(DbPath, new SqliteAssertionStoreOptions { Durability = durability });

        Assert.That(store.Durability, Is.EqualTo(durability));
        Assert.That(store.WriterSynchronousPragma, Is.EqualTo(expected));
    }
}
