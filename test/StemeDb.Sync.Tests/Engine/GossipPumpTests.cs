using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Testing;

using StemeDb.Sync.Tests.Shared;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>The gossip pump (<c>GossipPump</c>): fanout, forwarding once, the bounded queue, retries.</summary>
[TestFixture]
public sealed class GossipPumpTests : NodeTestBase
{
    [Test]
    public async Task Ingest_FivePeersFanoutTwo_GossipsToTwoDistinctPeers()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 2));
        FakePeer[] peers = Enumerable.Range(0, 5).Select(i => new FakePeer($"p{i}")).ToArray();
        foreach (FakePeer peer in peers)
        {
            node.AddPeer(peer);
        }

        IngestResult result = await node.IngestAsync(EngineTestKit.Data(1));
        bool pumped = await node.PumpGossipOnceAsync();

        Assert.That(pumped, Is.True);
        Assert.That(peers.Sum(p => p.GossipCalls), Is.EqualTo(2));
        Assert.That(peers.Count(p => p.GossipCalls == 1), Is.EqualTo(2));
        Assert.That(peers.SelectMany(p => p.Gossiped).Select(r => r.Hash), Is.All.EqualTo(result.Hash));
    }

    [Test]
    public async Task ReceivePath_ImportedFetchedAndPushedRecords_OnlyThePushedOneIsForwarded()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 3));
        node.AddPeer(new FakePeer("p0"));
        var records = Enumerable.Range(0, 5).Select(i => EngineTestKit.Record(i)).ToList();
        (byte[] stream, _) = await StemeDb.Sync.Tests.Streams.StreamTestKit.WriteAsync(records.Take(3).OrderBy(r => r.Hash).ToArray());
        var source = new FakePeer("source")
        {
            Remote = new RootSummary(SyncProtocol.ComputeRoot(records.Select(r => r.Hash)), 5),
            Leaves = records.Select(r => r.Hash).OrderBy(h => h).ToList(),
            OnFetch = hashes => records.Where(r => hashes.Contains(r.Hash)).ToList(),
        };
        AssertionRecord pushed = EngineTestKit.Record(9);

        await AssertionStream.ImportAsync(new System.IO.MemoryStream(stream), node);
        int afterImport = node.PendingGossipCount;
        SyncPassResult pass = await node.SyncWithPeerAsync(source);
        int afterFetch = node.PendingGossipCount;
        await node.Handler.GossipAsync(new GossipMessage(pushed.Hash.ToArray(), pushed.Data.ToArray(), pushed.Timestamp.Time, pushed.Timestamp.Counter, pushed.Timestamp.NodeId.ToArray()));

        Assert.Multiple(() =>
        {
            Assert.That(afterImport, Is.Zero, "imported records are not forwarded");
            Assert.That(pass.Fetched, Is.EqualTo(2));
            Assert.That(afterFetch, Is.Zero, "fetched records are not forwarded");
            Assert.That(node.PendingGossipCount, Is.EqualTo(1), "a pushed record new here is forwarded");
            Assert.That(node.Count, Is.EqualTo(6));
        });
    }

    [Test]
    public async Task ReceivedGossip_NewThenKnown_ForwardedOnlyOnce()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 3));
        var peers = Enumerable.Range(0, 3).Select(i => new FakePeer($"p{i}")).ToArray();
        foreach (FakePeer peer in peers)
        {
            node.AddPeer(peer);
        }

        AssertionRecord record = EngineTestKit.Record(1);
        var message = new GossipMessage(record.Hash.ToArray(), record.Data.ToArray(), record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray());

        GossipResult first = await node.Handler.GossipAsync(message);
        int queuedAfterFirst = node.PendingGossipCount;
        GossipResult second = await node.Handler.GossipAsync(message);
        int queuedAfterSecond = node.PendingGossipCount;
        while (await node.PumpGossipOnceAsync())
        {
        }

        Assert.That(first.Accepted && second.Accepted, Is.True);
        Assert.That(queuedAfterFirst, Is.EqualTo(1));
        Assert.That(queuedAfterSecond, Is.EqualTo(1));
        Assert.That(peers.Select(p => p.GossipCalls), Is.All.EqualTo(1));
    }

    [Test]
    public async Task Ingest_GossipQueueFull_StoresEverythingAndCountsDrops()
    {
        using var dropped = new MetricRecorder("stemedb.sync.gossip.dropped", "reason", "queue_full");
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipQueueCapacity = 2));
        node.AddPeer(new FakePeer("p"));

        for (int i = 0; i < 5; i++)
        {
            await node.IngestAsync(EngineTestKit.Data(i));
        }

        Assert.That(node.Count, Is.EqualTo(5));
        Assert.That(node.PendingGossipCount, Is.EqualTo(2));
        Assert.That(dropped.Total, Is.EqualTo(3));
    }

    [Test]
    public async Task Ingest_NoPeers_NothingQueued()
    {
        SyncNode node = await StartNodeAsync(Manual(1));

        await node.IngestAsync(EngineTestKit.Data(1));

        Assert.That(node.PendingGossipCount, Is.Zero);
    }

    [Test]
    public async Task Gossip_PeerFailsTwice_RetriesWithBackoffThenSucceeds()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o =>
        {
            o.GossipRetryBaseDelay = TimeSpan.FromSeconds(1);
            o.GossipRetryMaxDelay = TimeSpan.FromSeconds(10);
        }));
        var peer = new FakePeer("p")
        {
            OnGossip = (_, attempt) => attempt <= 2 ? throw new SyncPeerException(SyncStatusCode.Unavailable, "down") : GossipResult.Ok,
        };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        Task<bool> pump = node.PumpGossipOnceAsync().AsTask();
        int callsBeforeTime = peer.GossipCalls;
        Time.Advance(TimeSpan.FromMilliseconds(499)); // first retry waits 0.5 s to 1 s
        int callsBeforeBackoff = peer.GossipCalls;
        for (int i = 0; i < 40 && !pump.IsCompleted; i++)
        {
            Time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.That(callsBeforeTime, Is.EqualTo(1));
        Assert.That(callsBeforeBackoff, Is.EqualTo(1));
        Assert.That(await pump, Is.True);
        Assert.That(peer.GossipCalls, Is.EqualTo(3));
    }

    [Test]
    public async Task Gossip_PeerAlwaysFails_GivesUpAfterMaxAttempts()
    {
        using var dropped = new MetricRecorder("stemedb.sync.gossip.dropped", "reason", "retries_exhausted");
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipMaxAttempts = 3));
        var peer = new FakePeer("p") { OnGossip = (_, _) => throw new SyncPeerException(SyncStatusCode.DeadlineExceeded, "slow") };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        Task<bool> pump = node.PumpGossipOnceAsync().AsTask();
        for (int i = 0; i < 100 && !pump.IsCompleted; i++)
        {
            Time.Advance(TimeSpan.FromMilliseconds(50));
        }

        await pump;
        Assert.That(peer.GossipCalls, Is.EqualTo(3));
        Assert.That(dropped.Total, Is.EqualTo(1));
    }

    [TestCase(SyncStatusCode.InvalidArgument)]
    [TestCase(SyncStatusCode.PermissionDenied)]
    [TestCase(SyncStatusCode.Unimplemented)]
    public async Task Gossip_NonRetryableFailure_NotRetried(SyncStatusCode code)
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        var peer = new FakePeer("p") { OnGossip = (_, _) => throw new SyncPeerException(code, "no") };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        await node.PumpGossipOnceAsync();

        Assert.That(peer.GossipCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task Gossip_PeerRejects_NotRetried()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        var peer = new FakePeer("p") { OnGossip = (_, _) => GossipResult.Rejected("invalid content") };
        node.AddPeer(peer);
        await node.IngestAsync(EngineTestKit.Data(1));

        await node.PumpGossipOnceAsync();

        Assert.That(peer.GossipCalls, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BackgroundGossip_IngestOnOneNode_ReachesTheOther(CancellationToken cancellationToken)
    {
        var network = new InMemoryNetwork();
        SyncNode a = await StartNodeAsync(EngineTestKit.Options(1), time: TimeProvider.System);
        SyncNode b = await StartNodeAsync(EngineTestKit.Options(2), time: TimeProvider.System);
        var atB = new SignallingHandler(b.Handler);
        network.SetEndpoint("a", a.Handler);
        network.SetEndpoint("b", atB);
        a.AddPeer(network.CreatePeer("a", "b"));
        b.AddPeer(network.CreatePeer("b", "a"));

        for (int i = 0; i < 100; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        await atB.WaitUntilAsync(() => b.Count == 100, cancellationToken); // checked after each push b answers
        Assert.That(b.Root, Is.EqualTo(a.Root));
    }
}
