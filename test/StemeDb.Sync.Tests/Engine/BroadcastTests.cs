using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// The <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast"), driven by hand on fake time: payloads on eager links,
/// announcements after the delay on lazy ones, pulls and grafts asked for in answers, prunes, nothing sent back where
/// it came from, v1 peers, and every field and limit checked before anything is done.
/// </summary>
[TestFixture]
public sealed class BroadcastTests : NodeTestBase
{
    private static readonly TimeSpan LongestAnnounceDelay = BroadcastLimits.AnnounceDelay * 2;

    [Test]
    public async Task Ingest_OneEagerTwoLazyLinks_PayloadAtOnceOnTheEagerHashesAfterTheDelayOnTheLazy()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 1));
        BroadcastPeer[] peers = AddPeers(node, 3);

        IngestResult ingested = await node.IngestAsync(EngineTestKit.Data(1));
        await node.PumpGossipOnceAsync();
        int announcedEarly = await node.AnnounceDueAsync();
        Time.Advance(LongestAnnounceDelay);
        int announced = await node.AnnounceDueAsync();

        BroadcastPeer eager = peers.Single(p => p.Payloads.Count == 1);
        Assert.Multiple(() =>
        {
            Assert.That(eager.Payloads.Single().Hash, Is.EqualTo(ingested.Hash));
            Assert.That(announcedEarly, Is.Zero, "nothing is announced before the delay");
            Assert.That(announced, Is.EqualTo(1));
            Assert.That(eager.Announced, Is.Empty, "the payload went on the eager link; its hash does not follow");
            foreach (BroadcastPeer lazy in peers.Where(p => p != eager))
            {
                Assert.That(lazy.Payloads, Is.Empty);
                Assert.That(lazy.Announced, Is.EqualTo(new[] { ingested.Hash }));
            }
        });
    }

    [Test]
    public async Task Announcement_PeerWantsAndGrafts_PayloadFollowsAndTheLinkTurnsEager()
    {
        (SyncNode node, BroadcastPeer lazy, IngestResult first) = await OneEagerOneLazyAsync();
        lazy.Answer = request => Answer(request, want: request.Announced, graft: true);

        Time.Advance(LongestAnnounceDelay);
        await node.AnnounceDueAsync();
        int payloadsAfterPull = lazy.Payloads.Count;
        IngestResult second = await node.IngestAsync(EngineTestKit.Data(2));
        await node.PumpGossipOnceAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payloadsAfterPull, Is.EqualTo(1), "the payload asked for follows the announcement");
            Assert.That(lazy.Payloads.Select(r => r.Hash), Is.EqualTo(new[] { first.Hash, second.Hash }), "after the graft, new payloads are pushed at once");
        });
    }

    [Test]
    public async Task Announcement_PeerWantsWithoutGraft_PayloadFollowsAndTheLinkStaysLazy()
    {
        (SyncNode node, BroadcastPeer lazy, IngestResult first) = await OneEagerOneLazyAsync();
        lazy.Answer = request => Answer(request, want: request.Announced, graft: false);

        Time.Advance(LongestAnnounceDelay);
        await node.AnnounceDueAsync();
        await node.IngestAsync(EngineTestKit.Data(2));
        await node.PumpGossipOnceAsync();

        Assert.That(lazy.Payloads.Select(r => r.Hash), Is.EqualTo(new[] { first.Hash }), "a pull brings the payload asked for; the link stays lazy");
    }

    [Test]
    public async Task EagerPush_AnsweredWithPrune_NextAssertionIsOnlyAnnounced()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 1));
        BroadcastPeer peer = AddPeers(node, 1)[0];
        peer.Answer = request => Answer(request, prune: request.Assertions.Count != 0);

        await node.IngestAsync(EngineTestKit.Data(1));
        await node.PumpGossipOnceAsync();
        IngestResult second = await node.IngestAsync(EngineTestKit.Data(2));
        await node.PumpGossipOnceAsync();
        Time.Advance(LongestAnnounceDelay);
        await node.AnnounceDueAsync();

        Assert.Multiple(() =>
        {
            Assert.That(peer.Payloads, Has.Count.EqualTo(1), "after the prune, no payload is pushed");
            Assert.That(peer.Announced, Does.Contain(second.Hash));
        });
    }

    [Test]
    public async Task ReceivedPayload_FromAPeer_IsNeitherPushedNorAnnouncedBackToIt()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 3));
        BroadcastPeer[] peers = AddPeers(node, 3);
        await node.IngestAsync(EngineTestKit.Data(1)); // the first send learns every peer's id
        await node.PumpGossipOnceAsync();
        AssertionRecord record = EngineTestKit.Record(5);

        BroadcastResponse answer = await node.Handler.BroadcastAsync(
            new BroadcastRequest(peers[0].Id.ToArray(), new[] { Message(record) }, Array.Empty<ReadOnlyMemory<byte>>()), CancellationToken.None);
        await node.PumpGossipOnceAsync();
        Time.Advance(LongestAnnounceDelay);
        await node.AnnounceDueAsync();

        Assert.Multiple(() =>
        {
            Assert.That(answer.Results.Single().Accepted, Is.True);
            Assert.That(answer.Prune, Is.False);
            Assert.That(peers[0].Payloads.Select(r => r.Hash), Does.Not.Contain(record.Hash));
            Assert.That(peers[0].Announced, Does.Not.Contain(record.Hash));
            Assert.That(peers[1].Payloads.Select(r => r.Hash), Does.Contain(record.Hash));
            Assert.That(peers[2].Payloads.Select(r => r.Hash), Does.Contain(record.Hash));
        });
    }

    [Test]
    public async Task PulledPayload_WithoutGraft_IsAnnouncedNotPushedOnEagerLinks()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 1));
        BroadcastPeer eager = AddPeers(node, 1)[0];
        await node.IngestAsync(EngineTestKit.Data(1)); // makes the link eager and learns the peer's id
        await node.PumpGossipOnceAsync();
        AssertionRecord grafted = EngineTestKit.Record(2), pulled = EngineTestKit.Record(3), pushed = EngineTestKit.Record(4);
        ReadOnlyMemory<byte> sender = EngineTestKit.NodeIdFor(200).ToArray();

        BroadcastResponse first = await Announce(node, new ReadOnlyMemory<byte>[] { grafted.Hash.ToArray() });
        BroadcastResponse second = await Announce(node, new ReadOnlyMemory<byte>[] { pulled.Hash.ToArray() });
        await node.Handler.BroadcastAsync(new BroadcastRequest(sender, new[] { Message(pulled), Message(pushed) }, Array.Empty<ReadOnlyMemory<byte>>()), CancellationToken.None);
        while (await node.PumpGossipOnceAsync())
        {
        }

        Time.Advance(LongestAnnounceDelay);
        await node.AnnounceDueAsync();

        Assert.Multiple(() =>
        {
            Assert.That(first.Graft, Is.True);
            Assert.That(second.Graft, Is.False, "within the graft interval, a want is a pull");
            Assert.That(eager.Payloads.Select(r => r.Hash), Does.Contain(pushed.Hash), "a payload pushed unasked goes on down the tree");
            Assert.That(eager.Payloads.Select(r => r.Hash), Does.Not.Contain(pulled.Hash), "a pulled payload is not pushed");
            Assert.That(eager.Announced, Does.Contain(pulled.Hash), "it is announced instead");
        });
    }

    [Test]
    public async Task Peer_AnswersUnimplemented_GetsV1GossipFromThenOn()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 1));
        BroadcastPeer peer = AddPeers(node, 1)[0];
        peer.Answer = _ => throw new SyncPeerException(SyncStatusCode.Unimplemented, "v1 node");

        IngestResult first = await node.IngestAsync(EngineTestKit.Data(1));
        await node.PumpGossipOnceAsync();
        IngestResult second = await node.IngestAsync(EngineTestKit.Data(2));
        await node.PumpGossipOnceAsync();

        Assert.Multiple(() =>
        {
            Assert.That(peer.Gossiped.Select(r => r.Hash), Is.EqualTo(new[] { first.Hash, second.Hash }));
            Assert.That(peer.BroadcastCalls, Is.EqualTo(1), "the extension is not tried again");
        });
    }

    [Test]
    public async Task Answer_AsksForAHashNeverAnnounced_OutsideTheProtocolAndThePeerLosesTheExtension()
    {
        (SyncNode node, BroadcastPeer lazy, _) = await OneEagerOneLazyAsync();
        byte[] other = EngineTestKit.Record(42).Hash.ToArray();
        lazy.Answer = request => Answer(request, want: new ReadOnlyMemory<byte>[] { other });

        Time.Advance(LongestAnnounceDelay);
        await node.AnnounceDueAsync();
        IngestResult next = await node.IngestAsync(EngineTestKit.Data(2));
        await node.PumpGossipOnceAsync();

        Assert.Multiple(() =>
        {
            Assert.That(lazy.Payloads, Is.Empty, "nothing is sent for a hash that was not announced");
            Assert.That(lazy.Gossiped.Select(r => r.Hash), Does.Contain(next.Hash), "the peer gets v1 gossip from then on");
        });
    }

    [Test]
    public async Task Handler_AnnouncedHashes_AsksOnlyForThoseMissingAndOnlyOnceWhileWaiting()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        IngestResult held = await node.IngestAsync(EngineTestKit.Data(1));
        AssertionHash missing1 = EngineTestKit.Record(2).Hash;
        AssertionHash missing2 = EngineTestKit.Record(3).Hash;
        ReadOnlyMemory<byte>[] announced = { held.Hash.ToArray(), missing1.ToArray(), missing2.ToArray() };

        BroadcastResponse first = await Announce(node, announced);
        BroadcastResponse again = await Announce(node, announced);
        Time.Advance(BroadcastLimits.WantTimeout);
        BroadcastResponse afterTimeout = await Announce(node, announced);

        Assert.Multiple(() =>
        {
            Assert.That(Hashes(first.Want), Is.EqualTo(new[] { missing1, missing2 }));
            Assert.That(first.Graft, Is.True, "the first want grafts the link");
            Assert.That(again.Want, Is.Empty, "a hash asked for is not asked for again while its payload may still come");
            Assert.That(Hashes(afterTimeout.Want), Is.EqualTo(new[] { missing1, missing2 }), "after the timeout another announcer is asked");
        });
    }

    [Test]
    public async Task Handler_Wants_GraftAtMostOncePerInterval()
    {
        SyncNode node = await StartNodeAsync(Manual(1));

        BroadcastResponse first = await Announce(node, new ReadOnlyMemory<byte>[] { EngineTestKit.Record(1).Hash.ToArray() });
        BroadcastResponse second = await Announce(node, new ReadOnlyMemory<byte>[] { EngineTestKit.Record(2).Hash.ToArray() });
        Time.Advance(BroadcastLimits.GraftInterval);
        BroadcastResponse third = await Announce(node, new ReadOnlyMemory<byte>[] { EngineTestKit.Record(3).Hash.ToArray() });

        Assert.Multiple(() =>
        {
            Assert.That(new[] { first.Want.Count, second.Want.Count, third.Want.Count }, Is.All.EqualTo(1));
            Assert.That(new[] { first.Graft, second.Graft, third.Graft }, Is.EqualTo(new[] { true, false, true }));
        });
    }

    [Test]
    public async Task Handler_BacklogAnnouncedOnAnEagerLink_AsksWithoutGraftingAndPushesThePayloadsOn()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 1));
        BroadcastPeer below = AddPeers(node, 1)[0];
        await node.IngestAsync(EngineTestKit.Data(1)); // makes the link to the peer below eager
        await node.PumpGossipOnceAsync();
        AssertionRecord record = EngineTestKit.Record(2);

        BroadcastResponse answer = await node.Handler.BroadcastAsync(
            new BroadcastRequest(ReadOnlyMemory<byte>.Empty, Array.Empty<GossipMessage>(), new ReadOnlyMemory<byte>[] { record.Hash.ToArray() }, Eager: true), CancellationToken.None);
        await node.Handler.BroadcastAsync(new BroadcastRequest(ReadOnlyMemory<byte>.Empty, new[] { Message(record) }, Array.Empty<ReadOnlyMemory<byte>>()), CancellationToken.None);
        await node.PumpGossipOnceAsync();
        BroadcastResponse lazyAnnouncement = await Announce(node, new ReadOnlyMemory<byte>[] { EngineTestKit.Record(3).Hash.ToArray() });

        Assert.Multiple(() =>
        {
            Assert.That(Hashes(answer.Want), Is.EqualTo(new[] { record.Hash }));
            Assert.That(answer.Graft, Is.False, "the link is eager already");
            Assert.That(below.Payloads.Select(r => r.Hash), Does.Contain(record.Hash), "a payload asked for on the tree goes on down the tree");
            Assert.That(lazyAnnouncement.Graft, Is.True, "the graft allowance was not used up");
        });
    }

    [Test]
    public async Task Handler_PayloadAlreadyHeld_AnswersPrune()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        AssertionRecord record = EngineTestKit.Record(1);
        var request = new BroadcastRequest(ReadOnlyMemory<byte>.Empty, new[] { Message(record) }, Array.Empty<ReadOnlyMemory<byte>>());

        BroadcastResponse first = await node.Handler.BroadcastAsync(request, CancellationToken.None);
        BroadcastResponse second = await node.Handler.BroadcastAsync(request, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(first.Prune, Is.False);
            Assert.That(second.Prune, Is.True);
            Assert.That(second.Results.Single().Accepted, Is.True, "a duplicate is accepted (held), and prunes the link");
            Assert.That(first.NodeId.ToArray(), Is.EqualTo(node.NodeId.ToArray()));
            Assert.That(node.Count, Is.EqualTo(1));
        });
    }

    private static IEnumerable<TestCaseData> MalformedRequests()
    {
        ReadOnlyMemory<byte>[] none = Array.Empty<ReadOnlyMemory<byte>>();
        GossipMessage[] noPayloads = Array.Empty<GossipMessage>();
        ReadOnlyMemory<byte> hash = EngineTestKit.Record(1).Hash.ToArray();
        yield return new TestCaseData(new BroadcastRequest(new byte[5], noPayloads, new[] { hash })).SetName("Handler_SenderIdOfFiveBytes_InvalidArgument");
        yield return new TestCaseData(new BroadcastRequest(ReadOnlyMemory<byte>.Empty, noPayloads, new ReadOnlyMemory<byte>[] { new byte[31] })).SetName("Handler_AnnouncedHashOf31Bytes_InvalidArgument");
        yield return new TestCaseData(new BroadcastRequest(ReadOnlyMemory<byte>.Empty, noPayloads, Enumerable.Repeat(hash, BroadcastLimits.MaxHashes + 1).ToArray())).SetName("Handler_1001AnnouncedHashes_InvalidArgument");
        yield return new TestCaseData(new BroadcastRequest(ReadOnlyMemory<byte>.Empty, Enumerable.Range(0, SyncProtocol.MaxGossipBatch + 1).Select(i => Message(EngineTestKit.Record(i))).ToArray(), none)).SetName("Handler_1001Payloads_InvalidArgument");
        yield return new TestCaseData(new BroadcastRequest(ReadOnlyMemory<byte>.Empty, null!, none)).SetName("Handler_NoPayloadList_InvalidArgument");
    }

    [TestCaseSource(nameof(MalformedRequests))]
    public async Task Handler_MalformedMessage_RefusedBeforeAnythingIsStoredOrAskedFor(object message)
    {
        var request = (BroadcastRequest)message;
        SyncNode node = await StartNodeAsync(Manual(1));

        SyncRequestException? refused = Assert.ThrowsAsync<SyncRequestException>(async () => await node.Handler.BroadcastAsync(request, CancellationToken.None));
        BroadcastResponse later = await Announce(node, new ReadOnlyMemory<byte>[] { EngineTestKit.Record(1).Hash.ToArray() });

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
            Assert.That(node.Count, Is.Zero);
            Assert.That(later.Want, Has.Count.EqualTo(1), "the refused message marked nothing as asked for");
        });
    }

    [Test]
    public async Task Handler_AnnouncementsOfHashesNeverDelivered_WaitsForAtMostTheLimitThenForgetsThem()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        int asked = 0;
        for (int message = 0; message < BroadcastLimits.MaxWanted / BroadcastLimits.MaxHashes + 1; message++)
        {
            ReadOnlyMemory<byte>[] announced = Enumerable.Range(0, BroadcastLimits.MaxHashes).Select(i => (ReadOnlyMemory<byte>)RandomHash(message, i)).ToArray();
            asked += (await Announce(node, announced)).Want.Count;
        }

        Time.Advance(BroadcastLimits.WantTimeout);
        BroadcastResponse afterTimeout = await Announce(node, new ReadOnlyMemory<byte>[] { RandomHash(-1, 0) });

        Assert.Multiple(() =>
        {
            Assert.That(asked, Is.EqualTo(BroadcastLimits.MaxWanted), "beyond the limit, announcements ask for nothing");
            Assert.That(afterTimeout.Want, Has.Count.EqualTo(1), "hashes never delivered are forgotten after the timeout");
        });
    }

    /// <summary>A node with one eager and one lazy link, after its first assertion was ingested and pushed on the eager one.</summary>
    private async Task<(SyncNode Node, BroadcastPeer Lazy, IngestResult First)> OneEagerOneLazyAsync()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.GossipFanout = 1));
        BroadcastPeer[] peers = AddPeers(node, 2);
        IngestResult first = await node.IngestAsync(EngineTestKit.Data(1));
        await node.PumpGossipOnceAsync();
        return (node, peers.Single(p => p.Payloads.IsEmpty), first);
    }

    private static byte[] RandomHash(int message, int i)
    {
        byte[] hash = new byte[SyncProtocol.HashLength];
        BitConverter.TryWriteBytes(hash, message);
        BitConverter.TryWriteBytes(hash.AsSpan(4), i);
        hash[31] = 0xA5;
        return hash;
    }

    private static ValueTask<BroadcastResponse> Announce(SyncNode node, ReadOnlyMemory<byte>[] hashes) =>
        node.Handler.BroadcastAsync(new BroadcastRequest(ReadOnlyMemory<byte>.Empty, Array.Empty<GossipMessage>(), hashes), CancellationToken.None);

    private static AssertionHash[] Hashes(IReadOnlyList<ReadOnlyMemory<byte>> raw) => raw.Select(h => new AssertionHash(h.Span)).ToArray();

    private static GossipMessage Message(AssertionRecord record) =>
        new(record.Hash.ToArray(), record.Data.ToArray(), record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray());

    private static BroadcastResponse Answer(BroadcastRequest request, IReadOnlyList<ReadOnlyMemory<byte>>? want = null, bool prune = false, bool graft = false) =>
        new(ReadOnlyMemory<byte>.Empty, request.Assertions.Select(_ => GossipResult.Ok).ToArray(), want ?? Array.Empty<ReadOnlyMemory<byte>>(), prune, graft);

    private static BroadcastPeer[] AddPeers(SyncNode node, int count)
    {
        BroadcastPeer[] peers = Enumerable.Range(0, count).Select(i => new BroadcastPeer($"p{i}", EngineTestKit.NodeIdFor(100 + i))).ToArray();
        foreach (BroadcastPeer peer in peers)
        {
            node.AddPeer(peer);
        }

        return peers;
    }

    /// <summary>A peer with the extension: records every broadcast message and answers as scripted (default: accepts every payload, asks for nothing).</summary>
    private sealed class BroadcastPeer : ISyncPeer
    {
        private int _broadcastCalls;

        public BroadcastPeer(string name, NodeId id)
        {
            Name = name;
            Id = id;
            Answer = request => BroadcastTests.Answer(request);
        }

        public string Name { get; }

        public NodeId Id { get; }

        public Func<BroadcastRequest, BroadcastResponse> Answer { get; set; }

        public ConcurrentQueue<AssertionRecord> Payloads { get; } = new();

        public ConcurrentQueue<AssertionHash> Announced { get; } = new();

        public ConcurrentQueue<AssertionRecord> Gossiped { get; } = new();

        public int BroadcastCalls => Volatile.Read(ref _broadcastCalls);

        ValueTask<BroadcastResponse> ISyncPeer.BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _broadcastCalls);
            BroadcastResponse response = Answer(request);
            foreach (GossipMessage message in request.Assertions)
            {
                Payloads.Enqueue(new AssertionRecord(new AssertionHash(message.Hash.Span), message.Data, HlcTimestamp.None));
            }

            foreach (ReadOnlyMemory<byte> hash in request.Announced)
            {
                Announced.Enqueue(new AssertionHash(hash.Span));
            }

            return new ValueTask<BroadcastResponse>(response with { NodeId = Id.ToArray() });
        }

        public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
        {
            Gossiped.Enqueue(record);
            return new ValueTask<GossipResult>(GossipResult.Ok);
        }

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
            new(new RootExchangeResult(local, true));

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
            new(new LeavesPage(Array.Empty<AssertionHash>(), false));

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
            new(Array.Empty<AssertionRecord>());

        public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
            new(new PingResult(Id, 0));
    }
}
