using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime;
using System.Threading.Tasks;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// v1 gossip throughput as a fraction of a bare no-op unary RPC, with the variants interleaved so that all of them see
/// the same machine noise. Run: <c>dotnet run -c Release --project bench/StemeDb.Sync.Benchmarks -- gossip-ratio
/// [--rounds 21] [--block 8000] [--warmup 3] [--in-flight 1,64] [--variants 0,1,2,3,4]</c>; <c>--variants</c> runs only
/// some of them (the no-op, variant 0, always runs: the ratios are taken against it), for a profile of one.
/// </summary>
/// <remarks>
/// <para>
/// Setup as <see cref="GrpcGossipBenchmarks"/> (<see cref="GrpcGossipFixture"/>): one process, Kestrel on 127.0.0.1
/// (HTTP/2 cleartext), one client channel. Five variants: the bare no-op unary call (payload as large as one
/// assertion), the same call with a 10 s gRPC deadline (as <see cref="GrpcSyncPeerOptions.Deadline"/> adds when set), v1
/// Gossip through <see cref="GrpcSyncPeer"/> to a server whose handler accepts every push without looking at it (the
/// adapters and the wire without the node's work), the same to a handler that verifies each push as a node does
/// (lengths, BLAKE3 of the bytes against the claimed hash, the rkyv validation) and stores nothing (the least a node
/// must do before it answers), and v1 Gossip through <see cref="GrpcSyncPeer"/> (default options)
/// of a new assertion that the receiving node verifies and stores; a rejected push throws, and at the end the receiver
/// must hold exactly one assertion per gossip call.
/// </para>
/// <para>
/// For each number of calls in flight: warm-up rounds, then measured rounds. A round is one block of calls of each
/// variant, back to back, the order rotated from round to round. A block's rate is its calls over its wall time. The
/// ratio gossip / no-op is taken within each round (neighbouring blocks, same noise), and reported as the median of
/// the rounds, with the smallest and largest. Allocations (KB per call), CPU time (µs per call, user and kernel), minor
/// page faults (per call, Linux only: pages the process touches for the first time, the store's growth among them)
/// and GC pauses (share of the block's wall time) are the whole process's: client and server.
/// Nothing is forced between blocks (no GC): the garbage of one block and the growing store count against whoever
/// runs when the collector does, which the rotation spreads evenly.
/// </para>
/// </remarks>
internal static class GossipRatioHarness
{
    /// <summary>The first argument that selects this harness instead of BenchmarkDotNet.</summary>
    public const string Command = "gossip-ratio";

    /// <summary>The target: v1 gossip at this share of the bare no-op rate, at each number of calls in flight.</summary>
    private const double Target = 0.90;

    private const int AcceptingVariant = 2;

    private const int VerifyingVariant = 3;

    private const int GossipVariant = 4;

    private static readonly string[] Names =
    [
        "no-op unary",
        "no-op unary + 10 s deadline",
        "v1 Gossip to a handler that accepts without work",
        "v1 Gossip to a handler that verifies, without storing",
        "v1 Gossip (GrpcSyncPeer) to a node",
    ];

    /// <summary>Runs the harness and prints the tables.</summary>
    /// <param name="args">The arguments after <see cref="Command"/>.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = 21;
        int block = 8000;
        int warmup = 3;
        int[] inFlights = [1, 64];
        int[] variants = Enumerable.Range(0, Names.Length).ToArray();
        bool parsed = HarnessSupport.TryParseArguments(args, $"{Command} [--rounds 21] [--block 8000] [--warmup 3] [--in-flight 1,64] [--variants 0,1,2,3,4]", (name, value) =>
        {
            switch (name)
            {
                case "--rounds": rounds = HarnessSupport.Count(name, value); break;
                case "--block": block = HarnessSupport.Count(name, value); break;
                case "--warmup": warmup = HarnessSupport.Count(name, value, allowZero: true); break;
                case "--in-flight": inFlights = value.Split(',').Select(v => HarnessSupport.Count(name, v)).ToArray(); break;
                case "--variants": variants = Variants(name, value); break;
                default: throw HarnessSupport.UnknownArgument(name);
            }
        });
        if (!parsed)
        {
            return 2;
        }

        Console.WriteLine($"## v1 gossip vs no-op unary over loopback gRPC, interleaved");
        Console.WriteLine();
        Console.WriteLine(HarnessSupport.Invariant($"{rounds} rounds (after {warmup} warm-up rounds) of {block:N0} calls per variant, order rotated each round."));
        Console.WriteLine(HarnessSupport.MachineLine());
        Console.WriteLine($"Load average at start: {HarnessSupport.LoadAverage()}");
        Console.WriteLine();

        var started = Stopwatch.StartNew();
        var results = new List<LevelResult>();
        long gossiped = 0;
        await using (GrpcGossipFixture fixture = await GrpcGossipFixture.StartAsync())
        {
            foreach (int inFlight in inFlights)
            {
                results.Add(await RunLevelAsync(fixture, variants, inFlight, rounds, block, warmup));
                gossiped += variants.Contains(GossipVariant) ? (long)(warmup + rounds) * block : 0;
            }

            if (fixture.ReceiverCount != gossiped)
            {
                throw new InvalidOperationException($"The receiver holds {fixture.ReceiverCount} assertions after {gossiped} gossip calls.");
            }
        }

        started.Stop();
        Console.WriteLine("| in flight | variant | median calls/s | best calls/s | median µs/call | CPU µs/call | page faults/call | KB/call | GC pause | vs no-op: median of rounds | min | max |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (LevelResult level in results)
        {
            foreach (int v in variants)
            {
                double median = HarnessSupport.Median(level.Rates[v]);
                string ratio = v == 0 ? "100%" : HarnessSupport.Percent(HarnessSupport.Median(level.Ratios[v]));
                string min = v == 0 ? string.Empty : HarnessSupport.Percent(level.Ratios[v].Min());
                string max = v == 0 ? string.Empty : HarnessSupport.Percent(level.Ratios[v].Max());
                if (v == GossipVariant)
                {
                    ratio = $"**{ratio}**";
                }

                Console.WriteLine(HarnessSupport.Invariant(
                    $"| {level.InFlight} | {Names[v]} | {median:N0} | {level.Rates[v].Max():N0} | {1e6 / median:N1} | {HarnessSupport.Median(level.CpuPerCall[v]):N1} | {HarnessSupport.Median(level.FaultsPerCall[v]):N3} | {HarnessSupport.Median(level.KbPerCall[v]):N2} | {HarnessSupport.Percent(HarnessSupport.Median(level.GcPause[v]), "F1")} | {ratio} | {min} | {max} |"));
            }
        }

        if (!variants.Contains(GossipVariant))
        {
            Console.WriteLine();
            Console.WriteLine(HarnessSupport.Invariant($"Gossip to the node not run (the receiver holds nothing, checked); total time {started.Elapsed.TotalSeconds:N0} s."));
            return 0;
        }

        Console.WriteLine();
        foreach (LevelResult level in results)
        {
            Console.WriteLine(HarnessSupport.Invariant(
                $"Gossip / no-op per round at {level.InFlight} in flight: {string.Join(" ", level.Ratios[GossipVariant].Select(r => (r * 100).ToString("F0", CultureInfo.InvariantCulture)))} (%)."));
        }

        Console.WriteLine();
        foreach (LevelResult level in results)
        {
            double ratio = HarnessSupport.Median(level.Ratios[GossipVariant]);
            Console.WriteLine(HarnessSupport.Invariant(
                $"Target (v1 gossip >= {HarnessSupport.Percent(Target)} of the bare no-op rate) at {level.InFlight} in flight: {(ratio >= Target ? "met" : "not met")} ({HarnessSupport.Percent(ratio)}, rounds {HarnessSupport.Percent(level.Ratios[GossipVariant].Min())}–{HarnessSupport.Percent(level.Ratios[GossipVariant].Max())})."));
        }

        using Process self = Process.GetCurrentProcess();
        Console.WriteLine(HarnessSupport.Invariant(
            $"Receiver holds {gossiped:N0} assertions, one per gossip call; total time {started.Elapsed.TotalSeconds:N0} s; peak working set {self.PeakWorkingSet64 / 1048576:N0} MiB."));
        Console.WriteLine($"Load average at end: {HarnessSupport.LoadAverage()}");
        return 0;
    }

    private static async Task<LevelResult> RunLevelAsync(GrpcGossipFixture fixture, int[] variants, int inFlight, int rounds, int block, int warmup)
    {
        AssertionRecord[] records = fixture.CreateAssertions(3 * (warmup + rounds) * block); // new ones for each gossip variant
        int nextRecord = 0;
        var level = new LevelResult(inFlight, rounds);
        for (int round = 0; round < warmup + rounds; round++)
        {
            bool measured = round >= warmup;
            var rates = new double[Names.Length];
            for (int k = 0; k < variants.Length; k++)
            {
                int variant = variants[(round + k) % variants.Length];
                // Each gossip variant pushes a block of records no variant pushed before.
                Func<AssertionRecord, Task>? push = variant switch
                {
                    AcceptingVariant => fixture.GossipToAcceptingHandlerAsync,
                    VerifyingVariant => fixture.GossipToVerifyingHandlerAsync,
                    GossipVariant => fixture.GossipAsync,
                    _ => null,
                };
                Func<int, Task> call;
                if (push is not null)
                {
                    int first = nextRecord;
                    nextRecord += block;
                    call = i => push(records[first + i]);
                }
                else
                {
                    call = variant == 0 ? _ => fixture.NoopAsync() : _ => fixture.NoopWithDeadlineAsync();
                }

                long allocated = GC.GetTotalAllocatedBytes(precise: false);
                TimeSpan paused = GC.GetTotalPauseDuration();
                TimeSpan cpu = Environment.CpuUsage.TotalTime;
                long faults = HarnessSupport.MinorPageFaults();
                long start = Stopwatch.GetTimestamp();
                await GrpcGossipBenchmarks.RunCallsAsync(block, inFlight, call);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                paused = GC.GetTotalPauseDuration() - paused;
                cpu = Environment.CpuUsage.TotalTime - cpu;
                faults = faults < 0 ? -1 : HarnessSupport.MinorPageFaults() - faults;
                allocated = GC.GetTotalAllocatedBytes(precise: false) - allocated;

                rates[variant] = block / seconds;
                if (measured)
                {
                    level.Rates[variant].Add(rates[variant]);
                    level.KbPerCall[variant].Add(allocated / 1024.0 / block);
                    level.GcPause[variant].Add(paused.TotalSeconds / seconds);
                    level.CpuPerCall[variant].Add(cpu.TotalMicroseconds / block);
                    level.FaultsPerCall[variant].Add(faults < 0 ? double.NaN : (double)faults / block);
                }
            }

            if (measured)
            {
                foreach (int v in variants.Where(v => v != 0))
                {
                    level.Ratios[v].Add(rates[v] / rates[0]);
                }
            }
        }

        return level;
    }

    private static int[] Variants(string name, string value)
    {
        int[] chosen = value.Split(',').Select(v => HarnessSupport.Count(name, v, allowZero: true)).Distinct().ToArray();
        if (chosen.Any(v => v >= Names.Length))
        {
            throw new FormatException($"{name} takes variants 0 to {Names.Length - 1}; got '{value}'.");
        }

        return chosen.Contains(0) ? chosen.Order().ToArray() : [0, .. chosen.Order()];
    }

    private sealed class LevelResult(int inFlight, int rounds)
    {
        public int InFlight { get; } = inFlight;

        public List<double>[] Rates { get; } = Lists(rounds);

        public List<double>[] KbPerCall { get; } = Lists(rounds);

        public List<double>[] GcPause { get; } = Lists(rounds);

        public List<double>[] CpuPerCall { get; } = Lists(rounds);

        public List<double>[] FaultsPerCall { get; } = Lists(rounds);

        // Each variant's rate / the no-op's, one entry per round ([0] unused).
        public List<double>[] Ratios { get; } = Lists(rounds);

        private static List<double>[] Lists(int rounds) => Names.Select(_ => new List<double>(rounds)).ToArray();
    }
}
