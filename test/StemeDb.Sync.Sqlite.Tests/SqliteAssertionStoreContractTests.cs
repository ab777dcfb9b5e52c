using System;
using System.IO;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Sqlite.Tests;

/// <summary>The store contract every <see cref="IAssertionStore"/> must pass, run against SQLite files.</summary>
[TestFixture(SqliteDurability.PowerLossSafe)]
[TestFixture(SqliteDurability.ProcessCrashSafe)]
public sealed class SqliteAssertionStoreContractTests : AssertionStoreContractTests
{
    private readonly SqliteDurability _durability;

    public SqliteAssertionStoreContractTests(SqliteDurability durability)
    {
        _durability = durability;
    }

    protected override IAssertionStore CreateStore()
    {
        string directory = Path.Combine(Path.GetTempPath(), "stemedb-sqlite-contract-" + Guid.NewGuid().ToString("N"));
        return SqliteAssertionStore.Open(Path.Combine(directory, "store.db"), new SqliteAssertionStoreOptions { Durability = _durability });
    }

    protected override async ValueTask DisposeStoreAsync(IAssertionStore store)
    {
        await base.DisposeStoreAsync(store);
        SqliteConnection.ClearAllPools();
        string directory = Path.GetDirectoryName(((SqliteAssertionStore)store).FilePath)!;
        Directory.Delete(directory, recursive: true);
    }
}
