using System;
using System.IO;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.RocksDb.Tests;

/// <summary>The store contract every <see cref="IAssertionStore"/> must pass, run against RocksDB directories.</summary>
[TestFixture(RocksDbDurability.PowerLossSafe)]
[TestFixture(RocksDbDurability.ProcessCrashSafe)]
public sealed class RocksDbAssertionStoreContractTests : AssertionStoreContractTests
{
    private readonly RocksDbDurability _durability;

    public RocksDbAssertionStoreContractTests(RocksDbDurability durability)
    {
        _durability = durability;
    }

    protected override IAssertionStore CreateStore() =>
        RocksDbAssertionStore.Open(
            Path.Combine(Path.GetTempPath(), "stemedb-rocksdb-contract-" + Guid.NewGuid().ToString("N")),
            new RocksDbAssertionStoreOptions { Durability = _durability });

    protected override async ValueTask DisposeStoreAsync(IAssertionStore store)
    {
        await base.DisposeStoreAsync(store);
        Directory.Delete(((RocksDbAssertionStore)store).DirectoryPath, recursive: true);
    }
}
