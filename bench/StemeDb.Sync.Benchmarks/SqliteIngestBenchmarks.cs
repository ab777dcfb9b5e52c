using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using StemeDb.Sync.Sqlite;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Local ingest of 3,000 assertions of 256 bytes into a node over a new <see cref="SqliteAssertionStore"/> (default
/// durability: each commit flushes the write-ahead log), one <see cref="SyncNode.IngestAsync"/> call at a time against
/// one <see cref="SyncNode.IngestManyAsync"/> call. Each operation is one assertion. Run:
/// <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- --filter '*SqliteIngest*'</c>.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class SqliteIngestBenchmarks
{
    private const int Count = 3000;

    private ReadOnlyMemory<byte>[] _data = [];
    private string _directory = string.Empty;
    private SqliteAssertionStore? _store;
    private SyncNode? _node;

    /// <summary>Random assertion bytes (accepted by the accept-all validator).</summary>
    [GlobalSetup]
    public void Setup() => _data = Enumerable.Range(0, Count).Select(i =>
    {
        byte[] bytes = new byte[256];
        new Random(i).NextBytes(bytes);
        return (ReadOnlyMemory<byte>)bytes;
    }).ToArray();

    /// <summary>A new database and node for every iteration.</summary>
    [IterationSetup]
    public void CreateNode()
    {
        _directory = Path.Combine(Path.GetTempPath(), "stemedb-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = SqliteAssertionStore.OpenAsync(Path.Combine(_directory, "store.db")).AsTask().GetAwaiter().GetResult();
        var options = new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan, ContentValidator = AcceptAllContentValidator.Instance };
        _node = new SyncNode(options, _store);
        _node.StartAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Closes and deletes the database.</summary>
    [IterationCleanup]
    public void DeleteNode()
    {
        _node!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _store!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>One call per assertion: each waits for its own commit.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public async Task<long> IngestOneByOne()
    {
        foreach (ReadOnlyMemory<byte> data in _data)
        {
            await _node!.IngestAsync(data).ConfigureAwait(false);
        }

        return _node!.Count;
    }

    /// <summary>One call for the whole batch: its puts are committed in groups.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> IngestMany()
    {
        await _node!.IngestManyAsync(_data).ConfigureAwait(false);
        return _node.Count;
    }
}
