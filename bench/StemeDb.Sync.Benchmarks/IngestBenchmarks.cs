using System;
using System.Buffers.Binary;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using StemeDb.Sync.Clock;
using StemeDb.Sync.Engine;
using StemeDb.Sync.Merkle;
using StemeDb.Sync.Storage;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// In-process ingest of 1,000,000 distinct assertions into a fresh node over the in-memory store (content check,
/// BLAKE3 hash, HLC stamp, store, Merkle index), side by side with BLAKE3 hashing the same bytes alone in the
/// same run (the baseline). Target: ingest costs at most 3x the hash alone. Each operation is one assertion.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class IngestBenchmarks
{
    private const int Count = 1_000_000;

    private byte[] _buffer = Array.Empty<byte>();
    private AssertionHash[] _hashes = Array.Empty<AssertionHash>();
    private SyncNode? _node;
    private InMemoryAssertionStore? _store;
    private MerkleIndex? _index;

    /// <summary>Bytes per assertion (a typical rkyv assertion is a few hundred bytes).</summary>
    [Params(256)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _buffer = new byte[Count * PayloadBytes];
        new Random(20261127).NextBytes(_buffer);
        for (int i = 0; i < Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(i * PayloadBytes), i); // distinct payloads
        }

        _hashes = new AssertionHash[Count];
        for (int i = 0; i < Count; i++)
        {
            _hashes[i] = AssertionHash.Compute(_buffer.AsSpan(i * PayloadBytes, PayloadBytes));
        }
    }

    // An (empty) iteration setup puts the baseline in the same job as the others (one invocation per
    // iteration), so the Ratio column compares like with like.
    [IterationSetup(Target = nameof(Blake3Only))]
    public void NothingToSetUp()
    {
    }

    [IterationSetup(Target = nameof(StorePutOnly))]
    public void CreateStore() => _store = new InMemoryAssertionStore();

    [IterationSetup(Target = nameof(IndexAddOnly))]
    public void CreateIndex() => _index = new MerkleIndex();

    [IterationSetup(Target = nameof(StepsByHand))]
    public void CreateStoreAndIndex()
    {
        _store = new InMemoryAssertionStore();
        _index = new MerkleIndex();
    }

    [IterationSetup(Target = nameof(Ingest))]
    public void CreateNode()
    {
        // No peers: nothing is gossiped; the default content validator is used.
        var options = new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan };
        _node = new SyncNode(options, new InMemoryAssertionStore());
        _node.StartAsync().AsTask().GetAwaiter().GetResult();
    }

    [IterationCleanup(Target = nameof(Ingest))]
    public void DisposeNode()
    {
        _node!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _node = null;
    }

    /// <summary>BLAKE3 of each payload, nothing else.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public ulong Blake3Only()
    {
        ulong acc = 0;
        for (int i = 0; i < Count; i++)
        {
            AssertionHash hash = AssertionHash.Compute(_buffer.AsSpan(i * PayloadBytes, PayloadBytes));
            acc ^= (ulong)hash.GetHashCode();
        }

        return acc;
    }

    /// <summary>Full local ingest of each payload: validate, hash, stamp, store, index.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> Ingest()
    {
        SyncNode node = _node!;
        ReadOnlyMemory<byte> all = _buffer;
        for (int i = 0; i < Count; i++)
        {
            await node.IngestAsync(all.Slice(i * PayloadBytes, PayloadBytes)).ConfigureAwait(false);
        }

        return node.Count;
    }

    /// <summary>Component: the in-memory store's put of each (pre-hashed) payload, with the copy ingest makes.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> StorePutOnly()
    {
        InMemoryAssertionStore store = _store!;
        var timestamp = new HlcTimestamp(1_700_000_000_000, 0, NodeId.NewId());
        ReadOnlyMemory<byte> all = _buffer;
        for (int i = 0; i < Count; i++)
        {
            var record = new AssertionRecord(_hashes[i], all.Slice(i * PayloadBytes, PayloadBytes).ToArray(), timestamp);
            await store.PutAsync(record).ConfigureAwait(false);
        }

        return await store.CountAsync().ConfigureAwait(false);
    }

    /// <summary>The ingest steps written out by hand (hash, copy, stamp, put, insert): the node's own overhead is Ingest minus this.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> StepsByHand()
    {
        InMemoryAssertionStore store = _store!;
        MerkleIndex index = _index!;
        var clock = new HybridLogicalClock(NodeId.NewId());
        ReadOnlyMemory<byte> all = _buffer;
        for (int i = 0; i < Count; i++)
        {
            ReadOnlyMemory<byte> data = all.Slice(i * PayloadBytes, PayloadBytes);
            AssertionHash hash = AssertionHash.Compute(data.Span);
            var record = new AssertionRecord(hash, data.ToArray(), clock.Now());
            await store.PutAsync(record).ConfigureAwait(false);
            index.Add(hash);
        }

        return index.Count;
    }

    /// <summary>Component: adding each (pre-computed) hash to the Merkle index.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int IndexAddOnly()
    {
        MerkleIndex index = _index!;
        for (int i = 0; i < Count; i++)
        {
            index.Add(_hashes[i]);
        }

        return index.Count;
    }
}
