using System;
using System.Threading.Tasks;
using BenchmarkDotNet.Running;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- --filter '*'</c>; or, with
/// <c>gossip-ratio</c> as the first argument, the interleaved gossip / no-op harness (<see cref="GossipRatioHarness"/>);
/// with <c>ingest-ratio</c>, the interleaved ingest / BLAKE3 harness (<see cref="IngestRatioHarness"/>); with
/// <c>import-ratio</c>, the interleaved import / <c>IngestManyAsync</c> harness (<see cref="ImportRatioHarness"/>); with
/// <c>merkle-memory [N ...]</c>, the managed bytes per leaf a <c>MerkleIndex</c> of each N retains, checked against a
/// bound (<see cref="MerkleMemoryHarness"/>).
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

        if (args.Length > 0 && args[0] == DurableScaleHarness.Command)
        {
            return await DurableScaleHarness.RunAsync(args[1..]);
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

        if (args.Length > 0 && args[0] == MerkleMemoryHarness.Command)
        {
            return MerkleMemoryHarness.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
