using System;
using System.IO;
using System.Threading.Tasks;
using StemeDb.Sync.Sqlite;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Consumer.Tests;

/// <summary>The packaged store contract suite, run against the packaged in-memory store.</summary>
[TestFixture]
public sealed class InMemoryStoreContractTests : AssertionStoreContractTests
{
    protected override IAssertionStore CreateStore() => new InMemoryAssertionStore();
}

/// <summary>The packaged store contract suite, run against the packaged SQLite store.</summary>
[TestFixture]
public sealed class SqliteStoreContractTests : AssertionStoreContractTests
{
    protected override IAssertionStore CreateStore()
    {
        string directory = Path.Combine(Path.GetTempPath(), "stemedb-consumer-" + Guid.NewGuid().ToString("N"));
        return SqliteAssertionStore.Open(Path.Combine(directory, "store.db"));
    }

    protected override async ValueTask DisposeStoreAsync(IAssertionStore store)
    {
        await base.DisposeStoreAsync(store);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(((SqliteAssertionStore)store).FilePath)!, recursive: true);
    }
}

/// <summary>The same contract, run by a consumer against the RocksDB store from the package feed (its native library included).</summary>
[TestFixture]
public sealed class RocksDbStoreContractTests : AssertionStoreContractTests
{
    protected override IAssertionStore CreateStore() =>
        StemeDb.Sync.RocksDb.RocksDbAssertionStore.Open(Path.Combine(Path.GetTempPath(), "stemedb-consumer-rocksdb-" + Guid.NewGuid().ToString("N")));

    protected override async ValueTask DisposeStoreAsync(IAssertionStore store)
    {
        await base.DisposeStoreAsync(store);
        Directory.Delete(((StemeDb.Sync.RocksDb.RocksDbAssertionStore)store).DirectoryPath, recursive: true);
    }
}
