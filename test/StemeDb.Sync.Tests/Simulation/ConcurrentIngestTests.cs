using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Simulation;

[TestFixture]
public sealed class ConcurrentIngestTests
{
    [Test]
    public async Task EightWriters_WhileServingAntiEntropyToTwoNodes_CountsAndRootsExact()
    {
        const int Writers = 8;
        const int PerWriter = 1000;
        // v1 peers: gossip goes one push per call, so the pullers still find work while the writers run (with batched
        // gossip, a's gossip alone can keep b and c current and leave anti-entropy nothing to fetch).
        var network = new InMemoryNetwork(seed: 3) { ForwardExtensions = false };
        var storeA = new InMemoryAssertionStore();
        await using var a = new SyncNode(EngineTestKit.Options(1, o => o.GossipFanout = 2), storeA);
        await using var b = new SyncNode(EngineTestKit.Options(2, o => o.GossipFanout = 0), new InMemoryAssertionStore());
        await using var c = new SyncNode(EngineTestKit.Options(3, o => o.GossipFanout = 0), new InMemoryAssertionStore());
        await a.StartAsync();
        await b.StartAsync();
        await c.StartAsync();
        network.SetEndpoint("a", a.Handler);
        network.SetEndpoint("b", b.Handler);
        network.SetEndpoint("c", c.Handler);
        a.AddPeer(network.CreatePeer("a", "b")); // a also gossips to both while they pull from it
        a.AddPeer(network.CreatePeer("a", "c"));
        var hashes = new ConcurrentBag<AssertionHash>();
        int added = 0;
        using var writersDone = new CancellationTokenSource();
        var firstPassB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstPassC = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Task[] writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                if (i == PerWriter / 2)
                {
                    // Half-way, make sure both pullers have completed a pass, so the rest is written while they pull.
                    await Task.WhenAll(firstPassB.Task, firstPassC.Task);
                }

                IngestResult result = await a.IngestAsync(EngineTestKit.Data((w * PerWriter) + i, salt: 5));
                hashes.Add(result.Hash);
                if (result.Added)
                {
                    Interlocked.Increment(ref added);
                }
            }
        })).ToArray();
        var passes = new ConcurrentBag<SyncPassResult>();
        Task[] pullers = new[] { ("b", b, firstPassB), ("c", c, firstPassC) }.Select(p => Task.Run(async () =>
        {
            var peer = network.CreatePeer(p.Item1, "a");
            while (!writersDone.IsCancellationRequested)
            {
                passes.Add(await p.Item2.SyncWithPeerAsync(peer));
                p.Item3.TrySetResult();
            }
        })).ToArray();

        await Task.WhenAll(writers);
        await writersDone.CancelAsync();
        await Task.WhenAll(pullers);
        SyncPassResult finalB = await b.SyncWithPeerAsync(network.CreatePeer("b", "a"));
        SyncPassResult finalC = await c.SyncWithPeerAsync(network.CreatePeer("c", "a"));

        AssertionHash expectedRoot = EngineTestKit.RootOf(hashes);
        Assert.That(added, Is.EqualTo(Writers * PerWriter));
        Assert.That(hashes.Distinct().Count(), Is.EqualTo(Writers * PerWriter));
        Assert.That(a.Count, Is.EqualTo(Writers * PerWriter));
        Assert.That(await storeA.CountAsync(), Is.EqualTo(Writers * PerWriter));
        Assert.That(a.Root, Is.EqualTo(expectedRoot));
        Assert.That(b.Count, Is.EqualTo(Writers * PerWriter));
        Assert.That(c.Count, Is.EqualTo(Writers * PerWriter));
        Assert.That(b.Root, Is.EqualTo(expectedRoot));
        Assert.That(c.Root, Is.EqualTo(expectedRoot));
        Assert.That(finalB.Pushed + finalC.Pushed, Is.Zero, "b and c hold nothing a lacks");
        Assert.That(passes.Sum(p => p.Fetched), Is.GreaterThan(0), "anti-entropy pulled while the writers were ingesting");
        TestContext.Out.WriteLine($"{passes.Count} passes during the writes, fetched {passes.Sum(p => p.Fetched)}");
    }
}
