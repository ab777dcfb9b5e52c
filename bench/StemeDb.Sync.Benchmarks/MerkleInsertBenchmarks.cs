using System;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// One new leaf into an index of N leaves followed by a root read: the incremental O(log n) path.
/// The index is rebuilt before every iteration and an iteration adds 4096 leaves, so its size stays
/// within 4096 of N (at most one more trie level at 10k, 0.4% growth at 1M).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 9)]
[MemoryDiagnoser]
[MedianColumn]
[InvocationCount(FreshLeaves)]
public class MerkleInsertBenchmarks
{
    private const int FreshLeaves = 4096;

    private AssertionHash[] _leaves = Array.Empty<AssertionHash>();
    private AssertionHash[] _fresh = Array.Empty<AssertionHash>();
    private MerkleIndex _index = new();
    private int _next;

    /// <summary>The number of leaves before the iteration.</summary>
    [Params(10_000, 100_000, 1_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _leaves = MerkleBenchmarks.RandomLeaves(N);
        _fresh = new AssertionHash[FreshLeaves];
        Span<byte> counter = stackalloc byte[8];
        for (int i = 0; i < _fresh.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(counter, (ulong)i);
            _fresh[i] = AssertionHash.Compute(counter);
        }

        PrintHashesPerInsert();
    }

    /// <summary>
    /// The inner node hashes (root version 2: one BLAKE3 compression each; leaves are not hashed) one insert followed by
    /// a root read costs (deterministic), in the index's bucketed layout and in the crit-bit trie it used before, over the
    /// same leaves: averaged over the 4096 fresh leaves.
    /// </summary>
    private void PrintHashesPerInsert()
    {
        var bucketed = new BucketedTrie();
        var critBit = new CritBitTrie();
        foreach (AssertionHash leaf in _leaves)
        {
            bucketed.Add(Key256.FromHash(leaf));
            critBit.Add(Key256.FromHash(leaf));
        }

        _ = bucketed.Root;
        _ = critBit.Root;
        long bucketedBefore = bucketed.HashesComputed;
        long critBitBefore = critBit.HashesComputed;
        foreach (AssertionHash leaf in _fresh)
        {
            bucketed.Add(Key256.FromHash(leaf));
            _ = bucketed.Root;
            critBit.Add(Key256.FromHash(leaf));
            _ = critBit.Root;
        }

        Console.WriteLine(
            $"// Inner node hashes per insert + root read at {N} leaves: bucketed index {(bucketed.HashesComputed - bucketedBefore) / (double)FreshLeaves:F1}, " +
            $"crit-bit trie {(critBit.HashesComputed - critBitBefore) / (double)FreshLeaves:F1}");
    }

    [IterationSetup]
    public void Rebuild()
    {
        _index = MerkleBenchmarks.BuildIndex(_leaves);
        _next = 0;
    }

    /// <summary>Adds one new leaf and reads the root.</summary>
    [Benchmark]
    public AssertionHash InsertOneThenRoot()
    {
        _index.Add(_fresh[_next++ % FreshLeaves]);
        return _index.Root;
    }
}
