using System;
using System.Threading.Tasks;

namespace StemeDb.Sync.Testing.Tests;

/// <summary>Partitions cut links both ways between two groups only, fail pending calls at once, and heal completely.</summary>
[TestFixture]
[CancelAfter(20_000)]
public sealed class InMemoryNetworkPartitionTests
{
    private static InMemoryNetwork ThreeEndpoints(bool manualDelivery = false)
    {
        var network = new InMemoryNetwork(seed: 7, manualDelivery: manualDelivery);
        network.SetEndpoint("a", TestRecords.Handler().Object);
        network.SetEndpoint("b", TestRecords.Handler().Object);
        network.SetEndpoint("c", TestRecords.Handler().Object);
        return network;
    }

    [Test]
    public async Task Partition_TwoGroups_CutsBothDirectionsAcrossButNotWithinAGroup()
    {
        InMemoryNetwork network = ThreeEndpoints();
        network.Partition(["a"], ["b", "c"]);

        var aToB = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("a", "b").PingAsync(default));
        var cToA = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("c", "a").PingAsync(default));
        PingResult bToC = await network.CreatePeer("b", "c").PingAsync(default);

        Assert.That(aToB!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(cToA!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(bToC.AssertionCount, Is.EqualTo(3));
        Assert.That(network.Statistics.Refused, Is.EqualTo(2));
        Assert.That(network.Statistics.Delivered, Is.EqualTo(1));
    }

    [Test]
    public async Task HealPartitions_AfterTwoPartitions_RestoresEveryLink()
    {
        InMemoryNetwork network = ThreeEndpoints();
        network.Partition(["a"], ["b"]);
        network.Partition(["b"], ["c"]);

        network.HealPartitions();
        PingResult aToB = await network.CreatePeer("a", "b").PingAsync(default);
        PingResult cToB = await network.CreatePeer("c", "b").PingAsync(default);

        Assert.That(aToB.AssertionCount, Is.EqualTo(3));
        Assert.That(cToB.AssertionCount, Is.EqualTo(3));
        Assert.That(network.Statistics.Refused, Is.Zero);
    }

    [Test]
    public async Task HealPartitions_DisconnectedEndpoint_StaysDisconnected()
    {
        InMemoryNetwork network = ThreeEndpoints();
        network.Partition(["a"], ["b"]);
        network.Disconnect("b");

        network.HealPartitions();
        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("a", "b").PingAsync(default));
        network.Reconnect("b");
        PingResult after = await network.CreatePeer("a", "b").PingAsync(default);

        Assert.That(ex!.Message, Does.Contain("disconnected"));
        Assert.That(after.AssertionCount, Is.EqualTo(3));
    }

    [Test]
    public async Task Partition_ManualDelivery_FailsPendingCallsAcrossAndKeepsTheOthers()
    {
        InMemoryNetwork network = ThreeEndpoints(manualDelivery: true);
        ValueTask<PingResult> across = network.CreatePeer("a", "b").PingAsync(default);
        ValueTask<PingResult> within = network.CreatePeer("b", "c").PingAsync(default);

        network.Partition(["a"], ["b", "c"]);
        int pendingAfterPartition = network.PendingCount;
        bool delivered = await network.DeliverNextAsync();

        Assert.That(pendingAfterPartition, Is.EqualTo(1));
        Assert.That(delivered, Is.True);
        Assert.That((await within).AssertionCount, Is.EqualTo(3));
        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await across);
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(await network.DeliverNextAsync(), Is.False);
    }

    [Test]
    public async Task CreatePeer_EndpointRegisteredLater_RefusedUntilThenDeliveredAfter()
    {
        var network = new InMemoryNetwork();
        ISyncPeer peer = network.CreatePeer("a", "late");

        var before = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(default));
        network.SetEndpoint("late", TestRecords.Handler().Object);
        PingResult after = await peer.PingAsync(default);

        Assert.That(before!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(before.Message, Does.Contain("late"));
        Assert.That(after.AssertionCount, Is.EqualTo(3));
        Assert.That(network.Statistics, Is.EqualTo(new InMemoryNetworkStatistics(Sent: 2, Delivered: 1, Dropped: 0, Duplicated: 0, AnswersLost: 0, Refused: 1)));
    }

    [Test]
    public void Partition_NullGroup_Throws()
    {
        var network = new InMemoryNetwork();

        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentNullException>(() => network.Partition(null!, ["b"]));
            Assert.Throws<ArgumentNullException>(() => network.Partition(["a"], null!));
        });
    }
}
