using System;
using System.Linq;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// <c>merkle-memory [N ...]</c>: the managed bytes a <see cref="MerkleIndex"/> of N uniformly random leaves retains
/// (<see cref="MerkleBenchmarks.BuildMeasured"/>), for each N (default: 1,000,000, 1,048,577 (the first count after a
/// split), 1,100,000 and 2,000,000). Exits 1 when a count retains more than <see cref="BoundBytesPerLeaf"/> bytes per leaf
/// plus <see cref="FixedAllowanceBytes"/> in all (docs/BENCHMARKS.md, "Memory").
/// </summary>
internal static class MerkleMemoryHarness
{
    public const string Command = "merkle-memory";

    /// <summary>The per-leaf target of docs/BENCHMARKS.md: at most 100 managed bytes per leaf.</summary>
    public const double BoundBytesPerLeaf = 100;

    /// <summary>
    /// The fixed part the per-leaf target leaves out: the index's fixed arrays and the root read's hashing scratch that
    /// the shared array pools keep (about 0.36 MB, once per process), rounded up to 1 MiB. It matters only at small N.
    /// </summary>
    public const long FixedAllowanceBytes = 1 << 20;

    public static int Run(string[] args)
    {
        int[] counts = args.Length > 0
            ? args.Select(a => HarnessSupport.Count("N", a)).ToArray()
            : [1_000_000, 1_048_577, 1_100_000, 2_000_000];
        int over = 0;
        foreach (int n in counts)
        {
            (MerkleIndex index, long retained) = MerkleBenchmarks.BuildMeasured(MerkleBenchmarks.RandomLeaves(n));
            double bound = BoundBytesPerLeaf * n + FixedAllowanceBytes;
            bool ok = retained <= bound;
            Console.WriteLine(HarnessSupport.Invariant(
                $"{n} leaves retain {retained} managed bytes = {retained / (double)n:F1} B/leaf (bound {bound / n:F1} B/leaf: {BoundBytesPerLeaf:F0} B/leaf + {FixedAllowanceBytes} B) {(ok ? "ok" : "OVER THE BOUND")}"));
            GC.KeepAlive(index);
            if (!ok)
            {
                over++;
            }
        }

        if (over > 0)
        {
            Console.Error.WriteLine($"merkle-memory: {over} of {counts.Length} counts retain more than the bound");
            return 1;
        }

        return 0;
    }
}
