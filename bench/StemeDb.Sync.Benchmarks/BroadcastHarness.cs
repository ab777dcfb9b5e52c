using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// How live gossip spreads over an in-memory cluster: reach by push alone, payload copies and announcement bytes per
/// node per assertion, and the time to the last delivery. Run: <c>dotnet run -c Release --project
/// bench/StemeDb.Sync.Benchmarks -- broadcast [--matrix] [--v1] [--nodes 100] [--peers 0] [--assertions 200] [--loss 0]
/// [--stopped 0] [--pace-ms 0] [--seed 1] [--wait-ms 2000]</c>; <c>--peers 0</c> peers every node with every other,
/// <c>--peers K</c> gives each node K random peers (one way: a node another does not list as a peer is not called by
/// it). <c>--matrix</c> runs the clusters and conditions of docs/BENCHMARKS.md, "Broadcast", one row each; <c>--v1</c>
/// makes every peer answer the extensions <c>UNIMPLEMENTED</c>, so that nodes gossip as with v1 peers (the baseline).
/// </summary>
/// <remarks>
/// Nodes run with default options except that anti-entropy is off (so that gossip is measured on its own), on an
/// <see cref="InMemoryNetwork"/> that delivers at once, losing <c>--loss</c> of the calls. <c>--stopped</c> of the nodes
/// are stopped and cut off before anything is ingested. The assertions are ingested at random running nodes, one
/// every <c>--pace-ms</c> (0: back to back). Copies are every payload received by push, new or duplicate, as the
/// <c>stemedb.sync.gossip.received</c> instrument counts them (over all nodes: the Meter is the process's), divided by
/// running nodes times assertions, after the push phase (<c>--wait-ms</c> after the last ingest, so that late
/// duplicates count); announcement bytes are the hashes announced (32 bytes each); reach is what push delivered by
/// then, and the last delivery is when every running node first held every assertion. Then, with loss, every
/// running node runs anti-entropy passes with its peers until every node holds every assertion, and the harness fails
/// unless they all do (nothing lost). It checks its result: it fails when a running node ends without an assertion.
/// </remarks>
internal static class BroadcastHarness
{
    /// <summary>The first argument that selects this harness instead of BenchmarkDotNet.</summary>
    public const string Command = "broadcast";

    private const string Usage =
        "broadcast [--matrix] [--v1] [--nodes 100] [--peers 0] [--assertions 200] [--loss 0] [--stopped 0] [--pace-ms 0] [--seed 1] [--wait-ms 2000]";

    /// <summary>The clusters and conditions of <c>--matrix</c>: (nodes, peers each, loss, stopped).</summary>
    private static readonly (int Nodes, int Peers, double Loss, double Stopped)[] Matrix =
    {
        (100, 0, 0, 0), (100, 0, 0.05, 0), (100, 0, 0, 0.10),
        (300, 10, 0, 0), (300, 10, 0.05, 0), (300, 10, 0, 0.10),
        (100, 8, 0, 0), (100, 8, 0.05, 0), (100, 8, 0, 0.10),
        (1000, 8, 0, 0), (1000, 8, 0.05, 0), (1000, 8, 0, 0.10),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        int nodes = 100, peers = 0, assertions = 200, seed = 1, paceMs = 0, waitMs = 2000;
        double loss = 0, stopped = 0;
        bool matrix = false, v1 = false;
        if (!HarnessSupport.TryParseArguments(args, Usage, (name, value) =>
        {
            switch (name)
            {
                case "--nodes": nodes = HarnessSupport.Count(name, value); break;
                case "--peers": peers = HarnessSupport.Count(name, value, allowZero: true); break;
                case "--assertions": assertions = HarnessSupport.Count(name, value); break;
                case "--seed": seed = HarnessSupport.Count(name, value, allowZero: true); break;
                case "--pace-ms": paceMs = HarnessSupport.Count(name, value, allowZero: true); break;
                case "--wait-ms": waitMs = HarnessSupport.Count(name, value); break;
                case "--loss": loss = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--stopped": stopped = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--matrix": matrix = true; break;
                case "--v1": v1 = true; break;
                default: throw HarnessSupport.UnknownArgument(name);
            }
        }, flags: new[] { "--matrix", "--v1" }))
        {
            return 2;
        }

        Console.WriteLine(HarnessSupport.MachineLine());
        Console.WriteLine(HarnessSupport.Invariant($"{assertions} assertions ingested at random running nodes{(paceMs == 0 ? " back to back" : $", one every {paceMs} ms")}; anti-entropy off until the push phase ends {waitMs} ms after the last ingest."));
        Console.WriteLine("| nodes | peers each | loss | stopped | reach by push | copies / node / assertion | announced B / node / assertion | grafts, prunes / assertion | last delivery after last ingest | after anti-entropy |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        bool complete = true;
        foreach ((int Nodes, int Peers, double Loss, double Stopped) run in matrix ? Matrix : new[] { (nodes, peers, loss, stopped) })
        {
            Result result = await RunOnceAsync(run.Nodes, run.Peers, assertions, run.Loss, run.Stopped, paceMs, seed, TimeSpan.FromMilliseconds(waitMs), v1);
            Console.WriteLine(HarnessSupport.Invariant(
                $"| {run.Nodes} | {(run.Peers == 0 ? "all" : run.Peers.ToString(System.Globalization.CultureInfo.InvariantCulture))} | {run.Loss:P0} | {run.Stopped:P0} | {result.Reach:P2}{(result.Unreachable == 0 ? string.Empty : $" ({result.Unreachable} no peer calls)")} | {result.Copies:F3} | {result.AnnouncedBytes:F0} | {result.Grafts:F1}, {result.Prunes:F1} | {(result.LastDelivery is { } t ? $"{t.TotalMilliseconds:F0} ms" : "not all")} | {(result.Complete ? "every node holds every assertion" : "INCOMPLETE")} |"));
            complete &= result.Complete;
        }

        return complete ? 0 : 1;
    }

    private sealed record Result(double Reach, double Copies, double AnnouncedBytes, double Grafts, double Prunes, TimeSpan? LastDelivery, bool Complete, int Unreachable);

    private static async Task<Result> RunOnceAsync(int count, int peersEach, int assertions, double loss, double stoppedShare, int paceMs, int seed, TimeSpan wait, bool v1)
    {
        var random = new Random(seed);
        var network = new InMemoryNetwork(seed) { ForwardExtensions = !v1 };
        var names = Enumerable.Range(0, count).Select(i => $"node-{i}").ToArray();
        var nodes = new SyncNode[count];
        var peerNames = new List<int>[count];
        for (int i = 0; i < count; i++)
        {
            nodes[i] = new SyncNode(
                new SyncNodeOptions { NodeId = NodeId.NewId(), AntiEntropyInterval = Timeout.InfiniteTimeSpan, RandomSeed = seed * 100_003 + i },
                new InMemoryAssertionStore());
            network.SetEndpoint(names[i], nodes[i].Handler);
        }

        for (int i = 0; i < count; i++)
        {
            List<int> others = Enumerable.Range(0, count).Where(j => j != i).ToList();
            peerNames[i] = peersEach == 0 ? others : others.OrderBy(_ => random.Next()).Take(peersEach).ToList();
            foreach (int j in peerNames[i])
            {
                nodes[i].AddPeer(network.CreatePeer(names[i], names[j]));
            }
        }

        foreach (SyncNode node in nodes)
        {
            await node.StartAsync();
        }

        bool[] running = Enumerable.Repeat(true, count).ToArray();
        foreach (int i in Enumerable.Range(0, count).OrderBy(_ => random.Next()).Take((int)Math.Round(count * stoppedShare)))
        {
            running[i] = false;
            network.Disconnect(names[i]);
            await nodes[i].StopAsync();
        }

        int[] live = Enumerable.Range(0, count).Where(i => running[i]).ToArray();

        // A node that no running node lists as a peer is never called: push cannot reach it, only its own passes can.
        int unreachable = live.Count(j => !live.Any(i => i != j && peerNames[i].Contains(j)));
        long received = 0, announced = 0, grafted = 0, pruned = 0, duplicates = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SyncTelemetry.MeterName && instrument.Name.StartsWith("stemedb.sync.broadcast.", StringComparison.Ordinal) || instrument.Name == "stemedb.sync.gossip.received")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "stemedb.sync.gossip.received")
            {
                Interlocked.Add(ref received, value);
                if (tags.Length > 0 && Equals(tags[0].Value, false))
                {
                    Interlocked.Add(ref duplicates, value);
                }
            }
            else if (instrument.Name == "stemedb.sync.broadcast.grafts")
            {
                Interlocked.Add(ref grafted, value);
            }
            else if (instrument.Name == "stemedb.sync.broadcast.prunes")
            {
                Interlocked.Add(ref pruned, value);
            }
            else if (instrument.Name == "stemedb.sync.broadcast.announced" && tags.Length > 0 && Equals(tags[0].Value, "sent"))
            {
                Interlocked.Add(ref announced, value);
            }
        });
        listener.Start();
        network.DropRate = loss;

        (byte[] buffer, int[] offsets) = IngestCorpus.Create(assertions);
        ReadOnlyMemory<byte>[] corpus = IngestCorpus.Slices(buffer, offsets);
        foreach (ReadOnlyMemory<byte> assertion in corpus)
        {
            await nodes[live[random.Next(live.Length)]].IngestAsync(assertion);
            if (paceMs > 0)
            {
                await Task.Delay(paceMs);
            }
        }

        // The push phase: until `wait` after the last ingest, so that late duplicates count too; the last delivery is
        // when every running node first held every assertion.
        var sinceLastIngest = Stopwatch.StartNew();
        TimeSpan? lastDelivery = null;
        while (sinceLastIngest.Elapsed < wait)
        {
            if (lastDelivery is null && live.All(i => nodes[i].Count == assertions))
            {
                lastDelivery = sinceLastIngest.Elapsed;
            }

            await Task.Delay(5);
        }

        long reached = live.Sum(i => nodes[i].Count);
        double pairs = (double)live.Length * assertions;
        var reach = reached / pairs;
        double copies = Interlocked.Read(ref received) / pairs;
        double announcedBytes = Interlocked.Read(ref announced) * 32.0 / pairs;

        // Anti-entropy completes what push left out (under loss): passes of every running node with its running peers.
        for (int round = 0; round < 10 && live.Any(i => nodes[i].Count != assertions); round++)
        {
            foreach (int i in live)
            {
                foreach (ISyncPeer peer in nodes[i].Peers)
                {
                    try
                    {
                        await nodes[i].SyncWithPeerAsync(peer);
                    }
                    catch (SyncPeerException)
                    {
                        // A lost call or a stopped peer: the next round tries again.
                    }
                }
            }
        }

        bool complete = live.All(i => nodes[i].Count == assertions);
        foreach (SyncNode node in nodes)
        {
            await node.DisposeAsync();
        }

        return new Result(reach, copies, announcedBytes, grafted / (double)assertions, pruned / (double)assertions, lastDelivery, complete, unreachable);
    }
}
