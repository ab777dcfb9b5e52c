using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Cli.Internal;
using StemeDb.Sync.RocksDb;
using StemeDb.Sync.Sqlite;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>
/// A data directory opens as the store it holds (RocksDB in <c>assertions/</c>, SQLite in <c>assertions.db</c>); a new
/// one gets RocksDB unless <c>--store sqlite</c>; asking for the other kind than the one held is a usage error.
/// </summary>
[TestFixture]
public sealed class DataStoreSelectionTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Path.Combine(Path.GetTempPath(), "stemedb-data-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task Open_NewDirectory_RocksDbByDefaultSqliteWhenAsked()
    {
        string other = _directory + "-sqlite";
        try
        {
            (IAssertionStore byDefault, string defaultName) = await DataStores.OpenAsync(_directory, null, CancellationToken.None);
            await ((IAsyncDisposable)byDefault).DisposeAsync();
            (IAssertionStore asked, string askedName) = await DataStores.OpenAsync(other, StoreKind.Sqlite, CancellationToken.None);
            await ((IAsyncDisposable)asked).DisposeAsync();

            Assert.Multiple(() =>
            {
                Assert.That(byDefault, Is.InstanceOf<RocksDbAssertionStore>());
                Assert.That(defaultName, Does.StartWith("rocksdb "));
                Assert.That(DataStores.Existing(_directory), Is.EqualTo(StoreKind.RocksDb));
                Assert.That(asked, Is.InstanceOf<SqliteAssertionStore>());
                Assert.That(askedName, Does.StartWith("sqlite "));
                Assert.That(DataStores.Existing(other), Is.EqualTo(StoreKind.Sqlite));
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(other, recursive: true);
        }
    }

    [Test]
    public async Task Open_DirectoryHoldingSqlite_OpensItWithoutStoreAndRefusesRocksDb()
    {
        (IAssertionStore created, _) = await DataStores.OpenAsync(_directory, StoreKind.Sqlite, CancellationToken.None);
        await created.PutAsync(TestAssertions.Record("data:kept"));
        await ((IAsyncDisposable)created).DisposeAsync();

        (IAssertionStore reopened, _) = await DataStores.OpenAsync(_directory, null, CancellationToken.None);
        long count = await reopened.CountAsync();
        await ((IAsyncDisposable)reopened).DisposeAsync();
        CliException? refused = Assert.ThrowsAsync<CliException>(async () => await DataStores.OpenAsync(_directory, StoreKind.RocksDb, CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(reopened, Is.InstanceOf<SqliteAssertionStore>());
            Assert.That(count, Is.EqualTo(1));
            Assert.That(refused!.ExitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(refused.Message, Does.Contain("already holds a sqlite store"));
        });
    }

    [Test]
    public async Task Serve_StoreWithoutData_ExitsTwo()
    {
        (int code, _, string error) = await CliRunner.RunAsync(string.Empty, "serve", "--listen", "http://127.0.0.1:0", "--store", "sqlite");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Usage));
            Assert.That(error, Does.Contain("--store needs --data"));
        });
    }
}
