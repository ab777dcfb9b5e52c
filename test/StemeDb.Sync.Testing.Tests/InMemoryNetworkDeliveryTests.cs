using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace StemeDb.Sync.Testing.Tests;

/// <summary>
/// When calls arrive: after a delay of the network's time provider in automatic mode; one at a time, in a seeded random
/// order, with manual delivery.
/// </summary>
[TestFixture]
[CancelAfter(20_000)]
public sealed class InMemoryNetworkDeliveryTests
{
    [Test]
    public async Task DeliverNextAsync_SeveralPending_DeliversOneCallPerStepInASeededOrder()
    {
        async Task<(int[] Order, int[] Pending)> RunAsync(int seed)
        {
            var network = new InMemoryNetwork(seed, manualDelivery: true);
            var order = new List<int>();
            network.SetEndpoint("b", RecordingHandler(order).Object);
            ISyncPeer peer = network.CreatePeer("a", "b");
            ValueTask<GossipResult>[] calls = [.. Enumerable.Range(0, 8).Select(i => peer.GossipAsync(TestRecords.Record(i)))];
            var pending = new List<int> { network.PendingCount };
            while (await network.DeliverNextAsync())
            {
                pending.Add(network.PendingCount);
            }

            foreach (ValueTask<GossipResult> call in calls)
            {
                Assert.That(await call, Is.EqualTo(GossipResult.Ok));
            }

            return ([.. order], [.. pending]);
        }

        (int[] first, int[] pending) = await RunAsync(seed: 3);
        (int[] again, _) = await RunAsync(seed: 3);
        var orders = new HashSet<string> { string.Join(",", first) };
        for (int seed = 4; seed < 8; seed++)
        {
            orders.Add(string.Join(",", (await RunAsync(seed)).Order));
        }

        Assert.That(pending, Is.EqualTo(new[] { 8, 7, 6, 5, 4, 3, 2, 1, 0 }), "one call per step");
        Assert.That(first, Is.EquivalentTo(Enumerable.Range(0, 8)), "every call delivered once");
        Assert.That(again, Is.EqualTo(first), "the same seed gives the same order");
        Assert.That(orders, Has.Count.GreaterThan(1), "the order depends on the seed");
    }

    [Test]
    public async Task DeliverNextAsync_NothingPending_ReturnsFalseAndCountsNothing()
    {
        var network = new InMemoryNetwork(seed: 1, manualDelivery: true);

        bool delivered = await network.DeliverNextAsync();

        Assert.That(delivered, Is.False);
        Assert.That(network.Statistics, Is.EqualTo(default(InMemoryNetworkStatistics)));
    }

    [Test]
    public async Task DeliverNextAsync_CallWaiting_FaultsAreDecidedAtDelivery()
    {
        var network = new InMemoryNetwork(seed: 1, manualDelivery: true);
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);
        ValueTask<PingResult> call = network.CreatePeer("a", "b").PingAsync(default);

        network.DropRate = 1;
        await network.DeliverNextAsync();

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await call);
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(network.Statistics.Dropped, Is.EqualTo(1));
        handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Test]
    public async Task AutomaticDelivery_FixedDelay_CallArrivesWhenTheTimeProviderReachesIt()
    {
        var time = new FakeTimeProvider(TestRecords.Start);
        var network = new InMemoryNetwork(timeProvider: time) { MinDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(2) };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        ValueTask<PingResult> call = network.CreatePeer("a", "b").PingAsync(default);
        time.Advance(TimeSpan.FromMilliseconds(1_999));
        int handlerCallsBefore = handler.Invocations.Count;
        bool completedBefore = call.IsCompleted;
        time.Advance(TimeSpan.FromMilliseconds(1));
        PingResult result = await call;

        Assert.That(completedBefore, Is.False);
        Assert.That(handlerCallsBefore, Is.Zero);
        Assert.That(result.AssertionCount, Is.EqualTo(3));
        Assert.That(network.PendingCount, Is.Zero, "automatic mode keeps nothing for DeliverNextAsync");
    }

    [Test]
    public async Task AutomaticDelivery_CancelledWhileDelayed_ThrowsAndNeverReachesTheHandler()
    {
        var time = new FakeTimeProvider(TestRecords.Start);
        var network = new InMemoryNetwork(timeProvider: time) { MinDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(1) };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);
        using var cts = new CancellationTokenSource();

        ValueTask<PingResult> call = network.CreatePeer("a", "b").PingAsync(default, cts.Token);
        await cts.CancelAsync();
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(async () => await call, Throws.InstanceOf<OperationCanceledException>());
        handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    private static Mock<ISyncRequestHandler> RecordingHandler(List<int> order)
    {
        var handler = new Mock<ISyncRequestHandler>();
        handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()))
            .Callback<GossipMessage, CancellationToken>((m, _) =>
            {
                lock (order)
                {
                    order.Add(BitConverter.ToInt32(m.Data.Span));
                }
            })
            .Returns(new ValueTask<GossipResult>(GossipResult.Ok));
        return handler;
    }
}
