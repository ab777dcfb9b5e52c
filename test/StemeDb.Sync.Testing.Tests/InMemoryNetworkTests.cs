using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Moq;

namespace StemeDb.Sync.Testing.Tests;

[TestFixture]
public sealed class InMemoryNetworkTests
{
    [Test]
    public async Task GossipAsync_Delivered_HandlerGetsCopiedBytes()
    {
        var network = new InMemoryNetwork();
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        GossipMessage? received = null;
        handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()))
            .Callback<GossipMessage, CancellationToken>((m, _) => received = m)
            .Returns(new ValueTask<GossipResult>(GossipResult.Ok));
        network.SetEndpoint("b", handler.Object);
        AssertionRecord record = TestRecords.Record(1);

        GossipResult result = await network.CreatePeer("a", "b").GossipAsync(record);

        Assert.That(result, Is.EqualTo(GossipResult.Ok));
        Assert.That(received, Is.Not.Null);
        Assert.That(received!.Value.Data.ToArray(), Is.EqualTo(record.Data.ToArray()));
        Assert.That(received.Value.Hash.ToArray(), Is.EqualTo(record.Hash.ToArray()));
        Assert.That(received.Value.HlcNodeId.ToArray(), Is.EqualTo(record.Timestamp.NodeId.ToArray()));
        Assert.That(MemoryMarshal.TryGetArray(received.Value.Data, out ArraySegment<byte> copy) && MemoryMarshal.TryGetArray(record.Data, out ArraySegment<byte> original) && ReferenceEquals(copy.Array, original.Array), Is.False);
    }

    [Test]
    public async Task Partition_CallsAcross_FailUnavailableUntilHealed()
    {
        var network = new InMemoryNetwork();
        network.SetEndpoint("b", TestRecords.Handler().Object);
        ISyncPeer peer = network.CreatePeer("a", "b");
        network.Partition(new[] { "a" }, new[] { "b", "c" });

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(TestRecords.NodeIdFor(1)));
        network.HealPartitions();
        PingResult after = await peer.PingAsync(TestRecords.NodeIdFor(1));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(ex.Message, Does.Contain("partitioned"));
        Assert.That(after.AssertionCount, Is.EqualTo(3));
    }

    [Test]
    public async Task Disconnect_Endpoint_CallsFailUntilReconnected()
    {
        var network = new InMemoryNetwork();
        network.SetEndpoint("b", TestRecords.Handler().Object);
        ISyncPeer peer = network.CreatePeer("a", "b");
        network.Disconnect("b");

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(default));
        network.Reconnect("b");
        await peer.PingAsync(default);

        Assert.That(ex!.Message, Does.Contain("disconnected"));
    }

    [Test]
    public void DropRateOne_Request_LostBeforeHandler()
    {
        var network = new InMemoryNetwork { DropRate = 1 };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("a", "b").GossipAsync(TestRecords.Record(1)));

        handler.Verify(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()), Times.Never);
        Assert.That(network.Statistics.Dropped, Is.EqualTo(1));
    }

    [Test]
    public void AnswerLossRateOne_HandlerRunsButCallerFails()
    {
        var network = new InMemoryNetwork { AnswerLossRate = 1 };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("a", "b").GossipAsync(TestRecords.Record(1)));

        handler.Verify(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.That(ex!.Message, Does.Contain("answer"));
    }

    [Test]
    public async Task DuplicateRateOne_HandlerRunsTwice()
    {
        var network = new InMemoryNetwork { DuplicateRate = 1 };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        await network.CreatePeer("a", "b").GossipAsync(TestRecords.Record(1));

        handler.Verify(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Test]
    public void HandlerRefusal_KeepsStatusCode()
    {
        var network = new InMemoryNetwork();
        var handler = new Mock<ISyncRequestHandler>();
        handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncRequestException(SyncStatusCode.InvalidArgument, "too many"));
        network.SetEndpoint("b", handler.Object);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("a", "b").FetchAsync(new[] { AssertionHash.Zero }));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
        Assert.That(ex.Message, Is.EqualTo("too many"));
    }

    [Test]
    public async Task ManualDelivery_CallWaitsUntilDelivered()
    {
        var network = new InMemoryNetwork(seed: 1, manualDelivery: true);
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        ValueTask<PingResult> call = network.CreatePeer("a", "b").PingAsync(default);
        bool completedBefore = call.IsCompleted;
        int pendingBefore = network.PendingCount;
        bool delivered = await network.DeliverNextAsync();

        Assert.That(completedBefore, Is.False);
        Assert.That(pendingBefore, Is.EqualTo(1));
        Assert.That(delivered, Is.True);
        Assert.That(call.IsCompleted, Is.True);
        Assert.That((await call).AssertionCount, Is.EqualTo(3));
        Assert.That(await network.DeliverNextAsync(), Is.False);
    }

    [Test]
    public async Task ManualDelivery_CancelledCall_LeavesPendingSetAndThrows()
    {
        var network = new InMemoryNetwork(seed: 1, manualDelivery: true);
        network.SetEndpoint("b", TestRecords.Handler().Object);
        using var cts = new CancellationTokenSource();

        ValueTask<PingResult> call = network.CreatePeer("a", "b").PingAsync(default, cts.Token);
        await cts.CancelAsync();

        Assert.That(network.PendingCount, Is.Zero);
        Assert.That(async () => await call, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void ManualDelivery_Disconnect_FailsPendingCalls()
    {
        var network = new InMemoryNetwork(seed: 1, manualDelivery: true);
        network.SetEndpoint("b", TestRecords.Handler().Object);

        ValueTask<PingResult> call = network.CreatePeer("a", "b").PingAsync(default);
        network.Disconnect("b");

        Assert.That(network.PendingCount, Is.Zero);
        Assert.That(async () => await call, Throws.TypeOf<SyncPeerException>());
    }

    [Test]
    public async Task SameSeed_SameFaultSchedule()
    {
        async Task<string> RunAsync(int seed)
        {
            var network = new InMemoryNetwork(seed) { DropRate = 0.3, AnswerLossRate = 0.2, DuplicateRate = 0.2 };
            network.SetEndpoint("b", TestRecords.Handler().Object);
            ISyncPeer peer = network.CreatePeer("a", "b");
            var outcomes = new List<char>();
            for (int i = 0; i < 200; i++)
            {
                try
                {
                    await peer.PingAsync(default);
                    outcomes.Add('o');
                }
                catch (SyncPeerException)
                {
                    outcomes.Add('x');
                }
            }

            return new string(outcomes.ToArray()) + network.Statistics;
        }

        string first = await RunAsync(42);
        string second = await RunAsync(42);
        string other = await RunAsync(43);

        Assert.That(second, Is.EqualTo(first));
        Assert.That(other, Is.Not.EqualTo(first));
        Assert.That(first, Does.Contain("x").And.Contain("o"));
    }
}
