using System;
using System.Threading.Tasks;
using BenchmarkDotNet.Running;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- --filter '*'</c>; or, with
/// <c>gossip-ratio</c> as the first argument, the interleaved gossip / no-op harness (<see cref="GossipRatioHarness"/>);
/// with <c>ingest-ratio</c>, the interleaved ingest / BLAKE3 harness (<see cref="IngestRatioHarness"/>).
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

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
