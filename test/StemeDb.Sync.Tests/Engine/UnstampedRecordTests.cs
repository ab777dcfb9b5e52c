using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// Records that arrive without a timestamp, as from a v1 node (an <c>AssertionData</c> of hash and data only, or a push
/// with an empty <c>hlc_node_id</c>): valid, and stamped by the receiver with the content's HLC or its own clock.
/// </summary>
[TestFixture]
public sealed class UnstampedRecordTests
{
    private static readonly ulong Now = (ulong)EngineTestKit.Start.ToUnixTimeMilliseconds();

    private readonly StartedNodes _nodes = new();
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(EngineTestKit.Start);

    [TearDown]
    public async Task TearDown() => await _nodes.DisposeAsync();

    [Test]
    public async Task Gossip_NoHlcAssertionContent_StampedWithContentHlc()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartAsync(1, RkyvAssertionValidator.Instance, store);
        var carried = new HlcTimestamp(Now - 5_000, 3, EngineTestKit.NodeIdFor(7));
        byte[] data = Encode(carried);

        // hlc_time and hlc_counter without a node id are not a timestamp: they are ignored.
        GossipResult result = await node.Handler.GossipAsync(new GossipMessage(AssertionHash.Compute(data).ToArray(), data, 123, 4, ReadOnlyMemory<byte>.Empty));

        Assert.That(result.Accepted, Is.True, result.Error);
        Assert.That((await store.GetAsync(AssertionHash.Compute(data)))!.Timestamp, Is.EqualTo(carried));
    }

    [Test]
    public async Task Gossip_NoHlcContentHlcTooFarAhead_RejectedNothingStored()
    {
        SyncNode node = await StartAsync(1, RkyvAssertionValidator.Instance);
        HlcTimestamp before = node.Clock.Current;
        byte[] data = Encode(new HlcTimestamp(Now + 60_000, 0, EngineTestKit.NodeIdFor(7)));

        GossipResult result = await node.Handler.GossipAsync(new GossipMessage(AssertionHash.Compute(data).ToArray(), data, 0, 0, ReadOnlyMemory<byte>.Empty));

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("ahead"));
        Assert.That(node.Count, Is.Zero);
        Assert.That(node.Clock.Current, Is.EqualTo(before));
    }

    [Test]
    public async Task Gossip_NoHlcAssertionContentHostValidatorRefuses_RejectedNothingStored()
    {
        // Reading the content's HLC must not stand in for the host's own validator.
        SyncNode node = await StartAsync(1, new RefuseAllValidator());
        byte[] data = Encode(new HlcTimestamp(Now - 5_000, 0, EngineTestKit.NodeIdFor(7)));

        GossipResult result = await node.Handler.GossipAsync(new GossipMessage(AssertionHash.Compute(data).ToArray(), data, 0, 0, ReadOnlyMemory<byte>.Empty));

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Does.Contain("host policy"));
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task Gossip_NoHlcOtherContent_StampedWithReceiverClock()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartAsync(1, AcceptAllContentValidator.Instance, store);
        byte[] data = EngineTestKit.Data(1);

        GossipResult result = await node.Handler.GossipAsync(new GossipMessage(AssertionHash.Compute(data).ToArray(), data, 0, 0, ReadOnlyMemory<byte>.Empty));

        HlcTimestamp stamped = (await store.GetAsync(AssertionHash.Compute(data)))!.Timestamp;
        Assert.That(result.Accepted, Is.True, result.Error);
        Assert.That(stamped.NodeId, Is.EqualTo(node.NodeId));
        Assert.That(stamped.Time, Is.EqualTo(Now));
        Assert.That(stamped, Is.LessThanOrEqualTo(node.Clock.Current), "a tick of the receiver's clock");
    }

    [Test]
    public async Task Gossip_NoHlcHashMismatch_RejectedClockUnchanged()
    {
        SyncNode node = await StartAsync(1, AcceptAllContentValidator.Instance);
        HlcTimestamp before = node.Clock.Current;
        byte[] data = EngineTestKit.Data(1);

        GossipResult result = await node.Handler.GossipAsync(new GossipMessage(AssertionHash.Compute(EngineTestKit.Data(2)).ToArray(), data, 0, 0, ReadOnlyMemory<byte>.Empty));

        Assert.That(result.Accepted, Is.False);
        Assert.That(node.Count, Is.Zero);
        Assert.That(node.Clock.Current, Is.EqualTo(before), "no tick for a record that is not stored");
    }

    [Test]
    public async Task SyncWithPeer_V1PeerAnswersWithoutHlc_StampedWithContentHlcOrReceiverClock()
    {
        var network = new InMemoryNetwork { ForwardExtensions = false }; // v1 peers: hash and data only
        SyncNode a = await StartAsync(1, RkyvAssertionValidator.Instance);
        var bStore = new InMemoryAssertionStore();
        SyncNode b = await StartAsync(2, RkyvAssertionValidator.Instance, bStore);
        network.SetEndpoint("a", a.Handler);
        var carried = Enumerable.Range(0, 5).Select(i => new HlcTimestamp(Now - 1_000 + (ulong)i, 0, EngineTestKit.NodeIdFor(7))).ToArray();
        byte[][] data = carried.Select(Encode).ToArray();
        foreach (byte[] item in data)
        {
            await a.IngestAsync(item);
        }

        SyncPassResult pass = await b.SyncWithPeerAsync(network.CreatePeer("b", "a"));

        Assert.That(pass.Fetched, Is.EqualTo(5));
        Assert.That(pass.Rejected, Is.Zero);
        IReadOnlyList<AssertionRecord> stored = await bStore.GetManyAsync(data.Select(d => AssertionHash.Compute(d)).ToArray());
        Assert.That(stored.Select(r => r.Timestamp), Is.EqualTo(carried));
    }

    [Test]
    public async Task SyncWithPeer_V1PeerOtherContent_StampedByReceiverInOrder()
    {
        var network = new InMemoryNetwork { ForwardExtensions = false };
        SyncNode a = await StartAsync(1, AcceptAllContentValidator.Instance);
        var bStore = new InMemoryAssertionStore();
        SyncNode b = await StartAsync(2, AcceptAllContentValidator.Instance, bStore);
        network.SetEndpoint("a", a.Handler);
        for (int i = 0; i < 5; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        SyncPassResult pass = await b.SyncWithPeerAsync(network.CreatePeer("b", "a"));

        Assert.That(pass.Fetched, Is.EqualTo(5));
        var timestamps = new List<HlcTimestamp>();
        await foreach (AssertionHash hash in bStore.EnumerateHashesAsync())
        {
            timestamps.Add((await bStore.GetAsync(hash))!.Timestamp);
        }

        Assert.That(timestamps.Select(t => t.NodeId), Is.All.EqualTo(b.NodeId));
        Assert.That(timestamps.Distinct().Count(), Is.EqualTo(5), "each stamp is a new tick");
    }

    private sealed class RefuseAllValidator : IAssertionContentValidator
    {
        public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
        {
            error = "host policy refuses everything";
            return false;
        }
    }

    private static byte[] Encode(HlcTimestamp hlc) =>
        AssertionCodec.Encode(new Assertion($"subject:{hlc.Time}", "says", AssertionValue.FromText("v1"), hlc, hlc.NodeId));

    private Task<SyncNode> StartAsync(int id, IAssertionContentValidator validator, IAssertionStore? store = null) =>
        _nodes.StartAsync(EngineTestKit.Options(id, validator: validator), store, _time);
}
