using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>Anti-entropy (<c>AntiEntropy</c>): passes on demand and in the background, and bad peer answers.</summary>
[TestFixture]
public sealed class AntiEntropyTests : NodeTestBase
{
    [Test]
    public async Task SyncWithPeerAsync_DivergedNodes_BothHoldTheUnion()
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(Manual(1));
        SyncNode b = await StartNodeAsync(Manual(2));
        network.SetEndpoint("a", a.Handler);
        network.SetEndpoint("b", b.Handler);
        var union = new HashSet<AssertionHash>();
        for (int i = 0; i < 30; i++)
        {
            union.Add((await a.IngestAsync(EngineTestKit.Data(i))).Hash);
        }

        for (int i = 20; i < 50; i++)
        {
            union.Add((await b.IngestAsync(EngineTestKit.Data(i))).Hash);
        }

        SyncPassResult result = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));
        SyncPassResult again = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        Assert.That(result.RootsMatched, Is.False);
        Assert.That(result.Fetched, Is.EqualTo(20));
        Assert.That(result.Pushed, Is.EqualTo(20));
        Assert.That(result.Complete, Is.True);
        Assert.That(result.Rejected, Is.Zero);
        Assert.That(result.BytesReceived, Is.GreaterThan(0));
        Assert.That(a.Count, Is.EqualTo(50));
        Assert.That(b.Count, Is.EqualTo(50));
        Assert.That(a.Root, Is.EqualTo(EngineTestKit.RootOf(union)));
        Assert.That(b.Root, Is.EqualTo(a.Root));
        Assert.That(again.RootsMatched, Is.True);
        Assert.That(again.RoundTrips, Is.EqualTo(1));
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerAnswersPartOfEachFetch_WhatWasLeftOutIsFetchedInTheSamePass()
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(Manual(1));
        SyncNode b = await StartNodeAsync(Manual(2, o => o.MaxAnswerBytes = 64 * 1024));
        network.SetEndpoint("b", b.Handler);
        var held = new HashSet<AssertionHash>();
        for (int i = 0; i < 10; i++)
        {
            byte[] data = new byte[20_000];
            data[0] = 0x5A;
            BitConverter.TryWriteBytes(data.AsSpan(1), i);
            held.Add((await b.IngestAsync(data)).Hash);
        }

        SyncPassResult result = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        Assert.That(result.Fetched, Is.EqualTo(10));
        Assert.That(a.Root, Is.EqualTo(EngineTestKit.RootOf(held)));
    }

    [Test]
    public async Task SyncWithPeerAsync_MoreThanOneFetchBatchMissing_FetchesInBatchesOfAtMostBatchSize()
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(Manual(1));
        SyncNode b = await StartNodeAsync(Manual(2));
        network.SetEndpoint("b", b.Handler);
        for (int i = 0; i < 2500; i++)
        {
            await b.IngestAsync(EngineTestKit.Data(i));
        }

        var peer = new CountingPeer(network.CreatePeer("a", "b"));

        SyncPassResult result = await a.SyncWithPeerAsync(peer);

        Assert.That(result.Fetched, Is.EqualTo(2500));
        Assert.That(peer.FetchCalls, Is.EqualTo(3));
        Assert.That(peer.LargestFetch, Is.EqualTo(1000));
        Assert.That(a.Root, Is.EqualTo(b.Root));
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerAnswersForgedAndFutureRecords_RejectsThemStoresNothing()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        AssertionRecord genuine = EngineTestKit.Record(1);
        AssertionRecord other = EngineTestKit.Record(2);
        ulong tooFar = (ulong)EngineTestKit.Start.ToUnixTimeMilliseconds() + 10_000;
        AssertionRecord future = EngineTestKit.Record(3, new HlcTimestamp(tooFar, 0, EngineTestKit.NodeIdFor(9)));
        var peer = new FakePeer("evil")
        {
            Remote = new RootSummary(EngineTestKit.RootOf(new[] { genuine.Hash, future.Hash }), 2),
            Leaves = new[] { genuine.Hash, future.Hash }.OrderBy(h => h).ToArray(),
            OnFetch = _ => new[]
            {
                new AssertionRecord(genuine.Hash, other.Data, genuine.Timestamp), // bytes do not match the hash
                future, // too far ahead
            },
        };

        SyncPassResult result = await node.SyncWithPeerAsync(peer);

        Assert.That(result.Rejected, Is.EqualTo(2));
        Assert.That(result.Fetched, Is.Zero);
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerAnswersUnrequestedRecord_FailsThePassStoresNothing()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        AssertionRecord genuine = EngineTestKit.Record(1);
        AssertionRecord other = EngineTestKit.Record(2);
        var peer = new FakePeer("evil")
        {
            Remote = new RootSummary(EngineTestKit.RootOf(new[] { genuine.Hash }), 1),
            Leaves = new[] { genuine.Hash },
            OnFetch = _ => new[] { genuine, other }, // other was never asked for
        };

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await node.SyncWithPeerAsync(peer));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerUnreachable_ThrowsSyncPeerExceptionStoresNothing()
    {
        var network = new InMemoryNetwork();
        SyncNode node = await StartNodeAsync(Manual(1));
        network.Disconnect("b");

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await node.SyncWithPeerAsync(network.CreatePeer("a", "b")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BackgroundAntiEntropy_FirstPassWithinTwoSecondsThenEveryInterval_PeerCatchesUp(CancellationToken cancellationToken)
    {
        var time = new TimerWatchingTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(EngineTestKit.Options(1, o => o.GossipFanout = 0), time: time);
        for (int i = 0; i < 40; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        SyncNode b = await StartNodeAsync(
            EngineTestKit.Options(2, o =>
            {
                o.GossipFanout = 0;
                o.AntiEntropyInterval = TimeSpan.FromSeconds(10);
                o.AntiEntropyJitter = TimeSpan.FromSeconds(1);
                o.PeerCallTimeout = TimeSpan.FromMinutes(7); // call deadlines (and the stream and symbols deadlines) are minutes: told apart from the loop's waits below
            }),
            time: time);
        network.SetEndpoint("a", a.Handler);
        using var passEnded = new SemaphoreSlim(0);
        b.PeerStatusChanged += (_, _) => passEnded.Release(); // raised when each of the loop's passes ends
        b.AddPeer(network.CreatePeer("b", "a"));

        // The loop's first wait: within 2 s of AddPeer, not a whole interval.
        TimeSpan first = await time.NextTimerAsync(due => due < TimeSpan.FromMinutes(1));
        Assert.That(first, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(b.Count, Is.Zero);
        time.Advance(first);
        await passEnded.WaitAsync(cancellationToken);
        Assert.That(b.Count, Is.EqualTo(40), "the first pass brought b up to date");

        // The next wait is the interval ± jitter.
        await a.IngestAsync(EngineTestKit.Data(40));
        TimeSpan next = await time.NextTimerAsync(due => due < TimeSpan.FromMinutes(1));
        Assert.That(next, Is.InRange(TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(11)));
        time.Advance(next);
        await passEnded.WaitAsync(cancellationToken);
        Assert.That(b.Count, Is.EqualTo(41), "the next pass brought b up to date");
        Assert.That(b.Root, Is.EqualTo(a.Root));
    }
}
