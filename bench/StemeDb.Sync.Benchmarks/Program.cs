using System;
using System.Linq;
using System.Threading.Tasks;
using BenchmarkDotNet.Running;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- --filter '*'</c>; or, with
/// <c>gossip-ratio</c> as the first argument, the interleaved gossip / no-op harness (<see cref="GossipRatioHarness"/>);
/// with <c>ingest-ratio</c>, the interleaved ingest / BLAKE3 harness (<see cref="IngestRatioHarness"/>); with
/// <c>import-ratio</c>, the interleaved import / <c>IngestManyAsync</c> harness (<see cref="ImportRatioHarness"/>); with
/// <c>merkle-memory [N ...]</c>, the managed bytes per leaf a <c>MerkleIndex</c> of each N retains (default: 1,000,000,
/// 1,048,577 (the first count after a split), 1,100,000 and 2,000,000).
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == GossipRatioHarness.Command)
        {
            return await GossipRatioHarness.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == IngestRatioHarness.Command)
        {
            return await IngestRatioHarness.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == BootstrapHarness.Command)
        {
            return await BootstrapHarness.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == BroadcastHarness.Command)
        {
            return await BroadcastHarness.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == ServeClusterHarness.Command)
        {
            return await ServeClusterHarness.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == ImportRatioHarness.Command)
        {
            return await ImportRatioHarness.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "merkle-memory")
        {
            int[] counts = args.Length > 1
                ? args[1..].Select(a => HarnessSupport.Count("N", a)).ToArray()
                : [1_000_000, 1_048_577, 1_100_000, 2_000_000];
            foreach (int n in counts)
            {
                (MerkleIndex index, long retained) = MerkleBenchmarks.BuildMeasured(MerkleBenchmarks.RandomLeaves(n));
                Console.WriteLine($"{n} leaves retain {retained} managed bytes = {retained / (double)n:F1} B/leaf");
                GC.KeepAlive(index);
            }

            return 0;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
