using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Local ingest at 1M assertions as a multiple of BLAKE3 hashing the same bytes alone, with the variants interleaved so
/// that all of them see the same machine noise. Run: <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks
/// -- ingest-ratio [--rounds 9] [--count 1000000] [--warmup 1]</c>.
/// </summary>
/// <remarks>
/// <para>
/// The assertions are those of <see cref="IngestBenchmarks"/> (<see cref="IngestCorpus"/>). Three variants: BLAKE3 of
/// each assertion alone; <see cref="SyncNode.IngestAsync"/> of each into a fresh node over the in-memory store (rkyv
/// content validation, hash, HLC stamp, store, Merkle index); and <see cref="SyncNode.IngestManyAsync"/> of 1,000 per
/// call into a fresh node. An ingest block ends by reading the node's count, which must equal the number of
/// assertions (and so includes the index work the node defers until a read).
/// </para>
/// <para>
/// A round is one block of each variant, the order rotated from round to round. The ratio ingest / hash is taken within
/// each round (neighbouring blocks, same noise) and reported as the median of the rounds, with the smallest and
/// largest. Between blocks, outside the timing, the node is disposed and a full collection runs, so that no block pays
/// for the garbage of another; a block does pay for every collection its own allocations cause.
/// </para>
/// </remarks>
internal static class IngestRatioHarness
{
    /// <summary>The first argument that selects this harness instead of BenchmarkDotNet.</summary>
    public const string Command = "ingest-ratio";

    private const int BatchSize = 1000;

    /// <summary>How many ingests a running node makes between two root reads in the "as a node lives" variant.</summary>
    private const int RootReadEvery = 10_000;

    /// <summary>The variant whose node keeps its rateless symbols up to date (a node that reconciles by ReconcileSymbols).</summary>
    private const int SymbolsVariant = 5;

    /// <summary>
    /// The variant that reads only the count every <see cref="RootReadEvery"/> ingests: it merges the deferred leaves as
    /// often as the "root read every 10,000" node does but hashes nothing, so it bounds from below what any way of
    /// hashing the root could reach with this insert path.
    /// </summary>
    private const int CountEveryVariant = 6;

    private static readonly string[] Names =
    [
        "BLAKE3 alone",
        "IngestAsync, one per call (count read at the end)",
        "IngestManyAsync, 1,000 per call (count read at the end)",
        "IngestAsync, one root read at the end",
        "IngestAsync, a root read every 10,000 ingests",
        "IngestAsync, a root read every 10,000 ingests, rateless symbols kept",
        "IngestAsync, a count read every 10,000 ingests (merges, no root)",
    ];

    /// <summary>Runs the harness and prints the table.</summary>
    /// <param name="args">The arguments after <see cref="Command"/>.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = 9;
        int count = 1_000_000;
        int warmup = 1;
        bool parsed = HarnessSupport.TryParseArguments(args, $"{Command} [--rounds 9] [--count 1000000] [--warmup 1]", (name, value) =>
        {
            switch (name)
            {
                case "--rounds": rounds = HarnessSupport.Count(name, value); break;
                case "--count": count = HarnessSupport.Count(name, value); break;
                case "--warmup": warmup = HarnessSupport.Count(name, value, allowZero: true); break;
                default: throw HarnessSupport.UnknownArgument(name);
            }
        });
        if (!parsed)
        {
            return 2;
        }

        (byte[] buffer, int[] offsets) = IngestCorpus.Create(count);
        Console.WriteLine("## Local ingest vs BLAKE3 alone, interleaved");
        Console.WriteLine();
        Console.WriteLine(HarnessSupport.Invariant(
            $"{rounds} rounds (after {warmup} warm-up rounds) of {count:N0} assertions ({buffer.Length / (double)count:F1} bytes on average) per variant, order rotated each round."));
        Console.WriteLine(HarnessSupport.MachineLine());
        Console.WriteLine($"Load average at start: {HarnessSupport.LoadAverage()}");
        Console.WriteLine();

        var nanoseconds = Names.Select(_ => new List<double>()).ToArray();
        var allocated = Names.Select(_ => new List<double>()).ToArray();
        var ratios = Names.Select(_ => new List<double>()).ToArray();
        AssertionHash expectedRoot = ReferenceRoot(buffer, offsets, count);
        var started = Stopwatch.StartNew();
        for (int round = 0; round < warmup + rounds; round++)
        {
            var perAssertion = new double[Names.Length];
            for (int k = 0; k < Names.Length; k++)
            {
                int variant = (round + k) % Names.Length;
                (double ns, double bytes) = await RunBlockAsync(variant, buffer, offsets, count, expectedRoot);
                perAssertion[variant] = ns;
                if (round >= warmup)
                {
                    nanoseconds[variant].Add(ns);
                    allocated[variant].Add(bytes);
                }
            }

            if (round >= warmup)
            {
                for (int v = 1; v < Names.Length; v++)
                {
                    ratios[v].Add(perAssertion[v] / perAssertion[0]);
                }
            }
        }

        Console.WriteLine("| variant | median ns/assertion | best ns/assertion | allocated B/assertion | vs BLAKE3 alone: median of rounds | min | max |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        for (int v = 0; v < Names.Length; v++)
        {
            string ratio = v == 0 ? "1.00" : $"**{Times(HarnessSupport.Median(ratios[v]))}**";
            string min = v == 0 ? string.Empty : Times(ratios[v].Min());
            string max = v == 0 ? string.Empty : Times(ratios[v].Max());
            Console.WriteLine(HarnessSupport.Invariant(
                $"| {Names[v]} | {HarnessSupport.Median(nanoseconds[v]):N1} | {nanoseconds[v].Min():N1} | {HarnessSupport.Median(allocated[v]):N0} | {ratio} | {min} | {max} |"));
        }

        Console.WriteLine();
        for (int v = 1; v < Names.Length; v++)
        {
            Console.WriteLine(HarnessSupport.Invariant(
                $"{Names[v]} / BLAKE3 per round: {string.Join(" ", ratios[v].Select(Times))}."));
        }

        // The targets are for a node as it lives: a root read every 10,000 ingests, with the default options (rateless
        // symbols kept) and without symbols. What the root reads and the symbols add is read off the neighbouring rows.
        Console.WriteLine();
        (int Variant, double Limit)[] targets = [(5, 5.0), (4, 4.0)];
        foreach ((int v, double limit) in targets)
        {
            double ratio = HarnessSupport.Median(ratios[v]);
            Console.WriteLine(HarnessSupport.Invariant(
                $"Target (at most {limit:0}x BLAKE3 alone), {Names[v]}: {(ratio <= limit ? "met" : "not met")} ({Times(ratio)}, rounds {Times(ratios[v].Min())} to {Times(ratios[v].Max())})."));
        }

        double withSymbols = HarnessSupport.Median(ratios[5]), withRoots = HarnessSupport.Median(ratios[4]), merges = HarnessSupport.Median(ratios[6]);
        Console.WriteLine(HarnessSupport.Invariant(
            $"Of the default node's {Times(withSymbols)}: the root reads (a root every 10,000, against a count read every 10,000) add {Times(withRoots - merges)} ({HarnessSupport.Percent((withRoots - merges) / withSymbols)}), the rateless symbols {Times(withSymbols - withRoots)} ({HarnessSupport.Percent((withSymbols - withRoots) / withSymbols)})."));

        (double rootMs, double hashAllMs) = await MeasureFreshRootReadAsync(buffer, offsets, count, expectedRoot);
        Console.WriteLine();
        Console.WriteLine(HarnessSupport.Invariant(
            $"Root read of a freshly loaded index of {count:N0} (IngestManyAsync, then one count read outside the timing): {rootMs:N1} ms, {rootMs / hashAllMs:F2}x BLAKE3 over all {count:N0} assertions ({hashAllMs:N1} ms, measured just before)."));
        Console.WriteLine(HarnessSupport.Invariant($"Every root checked against an independent computation of the specification: {expectedRoot}."));
        Console.WriteLine(HarnessSupport.Invariant($"Total time {started.Elapsed.TotalSeconds:N0} s."));
        Console.WriteLine($"Load average at end: {HarnessSupport.LoadAverage()}");
        return 0;
    }

    /// <summary>One block: returns the wall time and the bytes allocated, per assertion.</summary>
    private static async Task<(double Nanoseconds, double Bytes)> RunBlockAsync(int variant, byte[] buffer, int[] offsets, int count, AssertionHash expectedRoot)
    {
        SyncNode? node = null;
        if (variant != 0)
        {
            // No peers (nothing is gossiped) and no background loops.
            node = await HarnessSupport.StartQuietNodeAsync(new InMemoryAssertionStore());
            if (variant == SymbolsVariant)
            {
                // A node that reconciles by ReconcileSymbols: its first reconciliation (here, before the first ingest) makes
                // the index keep its symbols up to date from then on, growing them with the set.
                _ = node.Index.BeginSymbols();
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        AssertionHash? root = null;
        long result = variant switch
        {
            0 => HashAll(buffer, offsets, count),
            1 or 3 => await IngestEachAsync(node!, buffer, offsets, count, readEvery: 0, readRoot: false),
            2 => await IngestBatchesAsync(node!, buffer, offsets, count),
            CountEveryVariant => await IngestEachAsync(node!, buffer, offsets, count, readEvery: RootReadEvery, readRoot: false),
            _ => await IngestEachAsync(node!, buffer, offsets, count, readEvery: RootReadEvery, readRoot: true), // 4 and SymbolsVariant
        };
        if (variant is >= 3 and < CountEveryVariant)
        {
            root = node!.Root; // part of the timing: the read a running node makes
        }

        double elapsed = Stopwatch.GetElapsedTime(start).TotalNanoseconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        if (node is not null)
        {
            AssertionHash finalRoot = root ?? node.Root; // outside the timing for the count-only variants
            await node.DisposeAsync();
            if (result != count)
            {
                throw new InvalidOperationException($"The node holds {result} assertions after ingesting {count}.");
            }

            if (finalRoot != expectedRoot)
            {
                throw new InvalidOperationException($"{Names[variant]}: the node's root {finalRoot} is not the specification's {expectedRoot}.");
            }

            if (variant == SymbolsVariant)
            {
                CheckSymbols(node, buffer, offsets, count);
            }
        }

        GC.KeepAlive(result);
        return (elapsed / count, bytes / (double)count);
    }

    /// <summary>The symbols the node kept while ingesting equal those computed from scratch over the assertions' hashes (the first 4,096).</summary>
    private static void CheckSymbols(SyncNode node, byte[] buffer, int[] offsets, int count)
    {
        var hashes = new AssertionHash[count];
        for (int i = 0; i < count; i++)
        {
            hashes[i] = AssertionHash.Compute(buffer.AsSpan(offsets[i], offsets[i + 1] - offsets[i]));
        }

        var expected = new CodedSymbol[4096];
        RibltSketch.Compute(expected, 0, hashes);
        var kept = new CodedSymbol[4096];
        (long version, _) = node.Index.BeginSymbols();
        if (!node.Index.TryGetSymbols(version, 0, kept, out int keptCount) || keptCount != count || !kept.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException("The symbols kept while ingesting differ from those computed from the assertions.");
        }
    }

    private static long HashAll(byte[] buffer, int[] offsets, int count)
    {
        ulong acc = 0;
        for (int i = 0; i < count; i++)
        {
            acc ^= (ulong)AssertionHash.Compute(buffer.AsSpan(offsets[i], offsets[i + 1] - offsets[i])).GetHashCode();
        }

        return (long)acc;
    }

    /// <summary>One <see cref="SyncNode.IngestAsync"/> per assertion; every <paramref name="readEvery"/> ingests (0: never) a read of the root, or of the count only.</summary>
    private static async Task<long> IngestEachAsync(SyncNode node, byte[] buffer, int[] offsets, int count, int readEvery, bool readRoot)
    {
        long counted = 0;
        for (int i = 0; i < count; i++)
        {
            await node.IngestAsync(buffer.AsMemory(offsets[i], offsets[i + 1] - offsets[i]));
            if (readEvery > 0 && (i + 1) % readEvery == 0)
            {
                if (readRoot)
                {
                    _ = node.Root;
                }
                else
                {
                    counted += node.Count; // merges the deferred leaves, as a root read must first
                }
            }
        }

        GC.KeepAlive(counted);

        return node.Count;
    }

    /// <summary>Loads every assertion, reads the count (merging the deferred leaves) and then times one root read.</summary>
    private static async Task<(double RootMs, double HashAllMs)> MeasureFreshRootReadAsync(byte[] buffer, int[] offsets, int count, AssertionHash expectedRoot)
    {
        await using SyncNode node = await HarnessSupport.StartQuietNodeAsync(new InMemoryAssertionStore());
        await IngestBatchesAsync(node, buffer, offsets, count);
        GC.Collect();
        long hashStart = Stopwatch.GetTimestamp();
        GC.KeepAlive(HashAll(buffer, offsets, count));
        double hashMs = Stopwatch.GetElapsedTime(hashStart).TotalMilliseconds;
        long start = Stopwatch.GetTimestamp();
        AssertionHash root = node.Root;
        double rootMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (root != expectedRoot)
        {
            throw new InvalidOperationException($"The freshly loaded node's root {root} is not the specification's {expectedRoot}.");
        }

        return (rootMs, hashMs);
    }

    /// <summary>
    /// The root (version 2) of the corpus's hashes computed straight from the specification (docs/PROTOCOL.md, "Merkle
    /// index and root"): a recursion over the sorted leaves with the Blake3 package's derive-key hasher, independent of
    /// the library's index and of its vectorized hashing.
    /// </summary>
    private static AssertionHash ReferenceRoot(byte[] buffer, int[] offsets, int count)
    {
        var leaves = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            leaves[i] = AssertionHash.Compute(buffer.AsSpan(offsets[i], offsets[i + 1] - offsets[i])).ToArray();
        }

        Array.Sort(leaves, (a, b) => a.AsSpan().SequenceCompareTo(b));
        int distinct = 0;
        for (int i = 0; i < leaves.Length; i++)
        {
            if (distinct == 0 || !leaves[i].AsSpan().SequenceEqual(leaves[distinct - 1]))
            {
                leaves[distinct++] = leaves[i];
            }
        }

        return new AssertionHash(distinct == 0 ? DeriveKey("StemeDb.Sync 2026-12-02 Merkle empty set v2", []) : Node(leaves, 0, distinct));

        static byte[] Node(byte[][] sorted, int from, int to)
        {
            if (to - from == 1)
            {
                return sorted[from]; // a leaf is its own value
            }

            int bit = FirstDifferingBit(sorted[from], sorted[to - 1]);
            int split = from;
            while (((sorted[split][bit / 8] >> (7 - (bit % 8))) & 1) == 0)
            {
                split++;
            }

            return DeriveKey("StemeDb.Sync 2026-12-02 Merkle inner node v2", [.. Node(sorted, from, split), .. Node(sorted, split, to)]);
        }

        static byte[] DeriveKey(string context, byte[] material)
        {
            using var hasher = Blake3.Hasher.NewDeriveKey(context);
            hasher.Update(material);
            byte[] output = new byte[32];
            hasher.Finalize(output);
            return output;
        }

        static int FirstDifferingBit(byte[] a, byte[] b)
        {
            for (int i = 0; i < a.Length; i++)
            {
                int x = a[i] ^ b[i];
                if (x != 0)
                {
                    return (i * 8) + System.Numerics.BitOperations.LeadingZeroCount((uint)x) - 24;
                }
            }

            throw new InvalidOperationException("Two equal leaves.");
        }
    }

    private static async Task<long> IngestBatchesAsync(SyncNode node, byte[] buffer, int[] offsets, int count)
    {
        var batch = new List<ReadOnlyMemory<byte>>(BatchSize);
        for (int start = 0; start < count; start += BatchSize)
        {
            batch.Clear();
            for (int i = start; i < Math.Min(count, start + BatchSize); i++)
            {
                batch.Add(buffer.AsMemory(offsets[i], offsets[i + 1] - offsets[i]));
            }

            await node.IngestManyAsync(batch);
        }

        return node.Count;
    }

    private static string Times(double ratio) => ratio.ToString("F2", CultureInfo.InvariantCulture) + "x";
}
