using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// The Merkle index at 10k, 100k and 1M uniformly random leaves: building it and reading the root,
/// membership, paging and range fingerprints (the incremental insert is in
/// <see cref="MerkleInsertBenchmarks"/>). The global setup prints the managed bytes retained per leaf
/// (target: at most 100 B/leaf at 1M).
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(BytesPerLeafConfig))]
public class MerkleBenchmarks
{
    private AssertionHash[] _leaves = Array.Empty<AssertionHash>();
    private MerkleIndex _built = new();
    private AssertionHash _lower;
    private AssertionHash _upper;

    /// <summary>The number of leaves.</summary>
    [Params(10_000, 100_000, 1_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _leaves = RandomLeaves(N);
        (_built, long retained) = BuildMeasured(_leaves);
        Console.WriteLine($"// MerkleIndex memory: {N} leaves retain {retained} managed bytes = {retained / (double)N:F1} B/leaf");

        _lower = Min(_leaves[1], _leaves[2]);
        _upper = Max(_leaves[1], _leaves[2]);
    }

    /// <summary>Inserts all N leaves into a new index and reads the root once.</summary>
    [Benchmark]
    public AssertionHash InsertAllThenRoot() => Build().Root;

    /// <summary>A membership test of a present leaf.</summary>
    [Benchmark]
    public bool Contains() => _built.Contains(_leaves[N / 2]);

    /// <summary>A page of 1000 leaves from a cursor.</summary>
    [Benchmark]
    public IReadOnlyList<AssertionHash> GetLeavesPage1000() => _built.GetLeaves(_leaves[N / 3], 1000);

    /// <summary>The fingerprint of a range between two random leaves.</summary>
    [Benchmark]
    public AssertionHash RangeFingerprint() => _built.GetRangeFingerprint(_lower, _upper).Fingerprint;

    private MerkleIndex Build() => BuildIndex(_leaves);

    /// <summary>
    /// Builds the index of <paramref name="leaves"/> and measures the managed bytes it retains (the heap after a full
    /// collection, before and after). The memory figures in docs/BENCHMARKS.md come from here, through the global
    /// setup and through <c>merkle-memory</c> (<see cref="Program"/>).
    /// </summary>
    internal static (MerkleIndex Index, long RetainedBytes) BuildMeasured(AssertionHash[] leaves)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        MerkleIndex index = BuildIndex(leaves);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        return (index, after - before);
    }

    /// <summary>A new index holding <paramref name="leaves"/>, its root already read.</summary>
    internal static MerkleIndex BuildIndex(AssertionHash[] leaves)
    {
        var index = new MerkleIndex();
        foreach (AssertionHash leaf in leaves)
        {
            index.Add(leaf);
        }

        _ = index.Root;
        return index;
    }

    /// <summary><paramref name="count"/> uniformly random leaves from a fixed seed.</summary>
    internal static AssertionHash[] RandomLeaves(int count)
    {
        var random = new Random(20261127);
        var leaves = new AssertionHash[count];
        byte[] bytes = new byte[AssertionHash.Length];
        for (int i = 0; i < count; i++)
        {
            random.NextBytes(bytes);
            leaves[i] = new AssertionHash(bytes);
        }

        return leaves;
    }

    private static AssertionHash Min(AssertionHash a, AssertionHash b) => a < b ? a : b;

    private static AssertionHash Max(AssertionHash a, AssertionHash b) => a < b ? b : a;

    /// <summary>Adds the <see cref="BytesPerLeafColumn"/>.</summary>
    private sealed class BytesPerLeafConfig : ManualConfig
    {
        public BytesPerLeafConfig() => AddColumn(new BytesPerLeafColumn());
    }

    /// <summary>
    /// Allocated bytes per operation divided by N, for <see cref="InsertAllThenRoot"/>: building an index
    /// allocates only its chunks (nothing is copied or discarded as it grows), so this is its size per leaf.
    /// </summary>
    private sealed class BytesPerLeafColumn : IColumn
    {
        public string Id => nameof(BytesPerLeafColumn);

        public string ColumnName => "Alloc/leaf";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Metric;

        public int PriorityInCategory => 10;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Allocated bytes per operation / N, for InsertAllThenRoot: managed bytes per leaf of a built index";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            if (benchmarkCase.Descriptor.WorkloadMethod.Name != nameof(InsertAllThenRoot))
            {
                return "-";
            }

            BenchmarkReport? report = summary[benchmarkCase];
            Metric? allocated = report?.Metrics.Values.FirstOrDefault(m => m.Descriptor.Id == "Allocated Memory");
            object? n = benchmarkCase.Parameters["N"];
            return allocated is null || n is not int leaves ? "?" : $"{allocated.Value / leaves:F1} B";
        }
    }
}
