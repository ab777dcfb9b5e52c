using System;
using System.Buffers;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// In-process ingest of 1,000,000 distinct rkyv assertions into a fresh node over the in-memory store (rkyv
/// content validation, BLAKE3 hash, HLC stamp, store, Merkle index), side by side with BLAKE3 hashing the same
/// bytes alone in the same run (the baseline). Target: ingest costs at most 3x the hash alone. Each operation
/// is one assertion.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class IngestBenchmarks
{
    private const int Count = 1_000_000;

    private byte[] _buffer = Array.Empty<byte>();
    private int[] _offsets = Array.Empty<int>();
    private AssertionHash[] _hashes = Array.Empty<AssertionHash>();
    private SyncNode? _node;
    private InMemoryAssertionStore? _store;
    private MerkleIndex? _index;
    private CritBitTrie? _critBitTrie;
    private byte[] _fresh = Array.Empty<byte>();

    private static IAssertionContentValidator Validator => RkyvAssertionValidator.Instance;

    [GlobalSetup]
    public void Setup()
    {
        (_buffer, _offsets) = IngestCorpus.Create(Count);
        _hashes = new AssertionHash[Count];
        for (int i = 0; i < Count; i++)
        {
            _hashes[i] = AssertionHash.Compute(Payload(i).Span);
        }

        Console.WriteLine($"// {Count} assertions, {_buffer.Length / (double)Count:F1} bytes on average");
    }

    private ReadOnlyMemory<byte> Payload(int i) => _buffer.AsMemory(_offsets[i], _offsets[i + 1] - _offsets[i]);

    // An (empty) iteration setup puts the baseline in the same job as the others (one invocation per
    // iteration), so the Ratio column compares like with like.
    [IterationSetup(Targets = new[] { nameof(Blake3Only), nameof(ValidateOnly) })]
    public void NothingToSetUp()
    {
    }

    [IterationSetup(Target = nameof(StorePutOnly))]
    public void CreateStore() => _store = new InMemoryAssertionStore();

    [IterationSetup(Targets = new[] { nameof(IndexAddOnly), nameof(IndexAddDeferredOnly) })]
    public void CreateIndex() => _index = new MerkleIndex();

    // Not zeroed here, so that the benchmark is the first to touch its pages, as a store's new memory is.
    [IterationSetup(Target = nameof(CopyToFreshMemoryOnly))]
    public void CreateFreshMemory() => _fresh = GC.AllocateUninitializedArray<byte>(_buffer.Length);

    [IterationCleanup(Target = nameof(CopyToFreshMemoryOnly))]
    public void DropFreshMemory() => _fresh = Array.Empty<byte>();

    [IterationSetup(Target = nameof(CritBitTrieAddOnly))]
    public void CreateCritBitTrie() => _critBitTrie = new CritBitTrie();

    [IterationSetup(Target = nameof(StepsByHand))]
    public void CreateStoreAndIndex()
    {
        _store = new InMemoryAssertionStore();
        _index = new MerkleIndex();
    }

    [IterationSetup(Targets = new[] { nameof(Ingest), nameof(IngestBatched) })]
    public void CreateNode()
    {
        // No peers: nothing is gossiped.
        var options = new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan, ContentValidator = Validator };
        _node = new SyncNode(options, new InMemoryAssertionStore());
        _node.StartAsync().AsTask().GetAwaiter().GetResult();
    }

    [IterationCleanup(Targets = new[] { nameof(Ingest), nameof(IngestBatched) })]
    public void DisposeNode()
    {
        _node!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _node = null;
    }

    /// <summary>BLAKE3 of each assertion, nothing else.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public ulong Blake3Only()
    {
        ulong acc = 0;
        for (int i = 0; i < Count; i++)
        {
            AssertionHash hash = AssertionHash.Compute(Payload(i).Span);
            acc ^= (ulong)hash.GetHashCode();
        }

        return acc;
    }

    /// <summary>Full local ingest of each assertion: validate, hash, stamp, store, index.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> Ingest()
    {
        SyncNode node = _node!;
        for (int i = 0; i < Count; i++)
        {
            await node.IngestAsync(Payload(i)).ConfigureAwait(false);
        }

        return node.Count;
    }

    /// <summary>The same ingest through <see cref="SyncNode.IngestManyAsync"/>, 1,000 assertions per call (a bulk load).</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> IngestBatched()
    {
        const int BatchSize = 1000;
        SyncNode node = _node!;
        var batch = new ReadOnlyMemory<byte>[BatchSize];
        for (int start = 0; start < Count; start += BatchSize)
        {
            for (int i = 0; i < BatchSize; i++)
            {
                batch[i] = Payload(start + i);
            }

            await node.IngestManyAsync(batch).ConfigureAwait(false);
        }

        return node.Count;
    }

    /// <summary>The ingest steps written out by hand (validate, hash, stamp, put, insert): the node's own overhead is Ingest minus this.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> StepsByHand()
    {
        InMemoryAssertionStore store = _store!;
        MerkleIndex index = _index!;
        IAssertionContentValidator validator = Validator;
        var clock = new HybridLogicalClock(NodeId.NewId());
        for (int i = 0; i < Count; i++)
        {
            ReadOnlyMemory<byte> data = Payload(i);
            if (!validator.TryValidate(data.Span, out string? error))
            {
                throw new InvalidOperationException(error);
            }

            AssertionHash hash = AssertionHash.Compute(data.Span);
            var record = new AssertionRecord(hash, data, clock.Now()); // the in-memory store copies the bytes
            await store.PutAsync(record).ConfigureAwait(false);
            index.AddDeferred(hash);
        }

        return index.Count;
    }

    /// <summary>Component: the rkyv content validation of each assertion.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int ValidateOnly()
    {
        IAssertionContentValidator validator = Validator;
        int valid = 0;
        for (int i = 0; i < Count; i++)
        {
            if (validator.TryValidate(Payload(i).Span, out _))
            {
                valid++;
            }
        }

        return valid;
    }

    /// <summary>Component: the in-memory store's put of each (pre-hashed) assertion (the store copies the bytes).</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> StorePutOnly()
    {
        InMemoryAssertionStore store = _store!;
        var timestamp = new HlcTimestamp(1_700_000_000_000, 0, NodeId.NewId());
        for (int i = 0; i < Count; i++)
        {
            var record = new AssertionRecord(_hashes[i], Payload(i), timestamp);
            await store.PutAsync(record).ConfigureAwait(false);
        }

        return await store.CountAsync().ConfigureAwait(false);
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

    /// <summary>
    /// Component: the same leaves through the deferred insert the node uses on ingest (merged into the index in
    /// groups), including the merge of the last ones, which reading the count forces.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int IndexAddDeferredOnly()
    {
        MerkleIndex index = _index!;
        for (int i = 0; i < Count; i++)
        {
            index.AddDeferred(_hashes[i]);
        }

        return index.Count;
    }

    /// <summary>
    /// A floor for any in-memory store: copying each assertion's bytes once into memory nobody has touched yet (the
    /// first write to each page is a page fault), with no lookup, no lock and no bookkeeping.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int CopyToFreshMemoryOnly()
    {
        byte[] fresh = _fresh;
        for (int i = 0; i < Count; i++)
        {
            Payload(i).Span.CopyTo(fresh.AsSpan(_offsets[i]));
        }

        return fresh[^1];
    }

    /// <summary>
    /// For comparison: the same inserts into the plain crit-bit trie (struct arrays, one node per level) that the
    /// index used before its bucketed layout, and still uses for crowded buckets.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int CritBitTrieAddOnly()
    {
        CritBitTrie trie = _critBitTrie!;
        for (int i = 0; i < Count; i++)
        {
            trie.Add(Key256.FromHash(_hashes[i]));
        }

        return trie.Count;
    }
}
