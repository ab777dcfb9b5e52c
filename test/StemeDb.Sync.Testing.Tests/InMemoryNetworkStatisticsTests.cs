using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Moq;

namespace StemeDb.Sync.Testing.Tests;

/// <summary>
/// Fault rates with a fixed seed, checked against what the handler really saw: the statistics count every call once, in
/// the right bucket.
/// </summary>
[TestFixture]
[CancelAfter(20_000)]
public sealed class InMemoryNetworkStatisticsTests
{
    private const int Calls = 400;

    [Test]
    public void Statistics_NewNetwork_AllZero()
    {
        var network = new InMemoryNetwork();

        Assert.That(network.Statistics, Is.EqualTo(default(InMemoryNetworkStatistics)));
        Assert.That(network.PendingCount, Is.Zero);
    }

    [Test]
    public async Task DropRate_HalfWithFixedSeed_SomeLostBeforeTheHandlerAndEveryCallCountedOnce()
    {
        var network = new InMemoryNetwork(seed: 11) { DropRate = 0.5 };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        (int succeeded, int failed) = await PingManyAsync(network.CreatePeer("a", "b"));

        InMemoryNetworkStatistics stats = network.Statistics;
        Assert.That(stats.Sent, Is.EqualTo(Calls));
        Assert.That(stats.Dropped, Is.EqualTo(failed));
        Assert.That(stats.Delivered, Is.EqualTo(succeeded));
        Assert.That(stats.Dropped, Is.InRange(Calls / 4, Calls * 3 / 4), "about half, for this seed");
        Assert.That(stats.Duplicated + stats.AnswersLost + stats.Refused, Is.Zero);
        handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Exactly(succeeded));
    }

    [Test]
    public async Task DuplicateRate_HalfWithFixedSeed_HandlerRunsOncePlusOncePerDuplicate()
    {
        var network = new InMemoryNetwork(seed: 12) { DuplicateRate = 0.5 };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        (int succeeded, int failed) = await PingManyAsync(network.CreatePeer("a", "b"));

        InMemoryNetworkStatistics stats = network.Statistics;
        Assert.That(failed, Is.Zero, "a duplicate is not a failure");
        Assert.That(stats.Delivered, Is.EqualTo(Calls));
        Assert.That(stats.Duplicated, Is.InRange(Calls / 4, Calls * 3 / 4), "about half, for this seed");
        handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Exactly(succeeded + (int)stats.Duplicated));
    }

    [Test]
    public async Task AnswerLossRate_HalfWithFixedSeed_HandlerRanForEveryCallAndTheLostAnswersFailed()
    {
        var network = new InMemoryNetwork(seed: 13) { AnswerLossRate = 0.5 };
        Mock<ISyncRequestHandler> handler = TestRecords.Handler();
        network.SetEndpoint("b", handler.Object);

        (_, int failed) = await PingManyAsync(network.CreatePeer("a", "b"));

        InMemoryNetworkStatistics stats = network.Statistics;
        Assert.That(stats.AnswersLost, Is.EqualTo(failed));
        Assert.That(stats.AnswersLost, Is.InRange(Calls / 4, Calls * 3 / 4), "about half, for this seed");
        Assert.That(stats.Delivered, Is.EqualTo(Calls), "the handler ran for the lost answers too");
        handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Exactly(Calls));
    }

    [Test]
    public async Task Statistics_EveryFaultAtOnce_SameSeedSameCountsAndTheCountsAddUp()
    {
        async Task<InMemoryNetworkStatistics> RunAsync()
        {
            var network = new InMemoryNetwork(seed: 5) { DropRate = 0.2, DuplicateRate = 0.2, AnswerLossRate = 0.2 };
            network.SetEndpoint("b", TestRecords.Handler().Object);
            await PingManyAsync(network.CreatePeer("a", "b"));
            return network.Statistics;
        }

        InMemoryNetworkStatistics first = await RunAsync();
        InMemoryNetworkStatistics second = await RunAsync();

        Assert.That(second, Is.EqualTo(first));
        Assert.That(first.Dropped + first.Delivered, Is.EqualTo(first.Sent), "a call is dropped or delivered");
        Assert.That(first.AnswersLost, Is.LessThanOrEqualTo(first.Delivered));
        Assert.That(first.Duplicated, Is.LessThanOrEqualTo(first.Delivered));
        Assert.That(new[] { first.Dropped, first.Duplicated, first.AnswersLost }, Is.All.Positive);
    }

    [Test]
    public async Task Statistics_HandlerRefusesTheCall_NotCountedAsRefusedByTheNetwork()
    {
        var network = new InMemoryNetwork();
        var handler = new Mock<ISyncRequestHandler>();
        handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncRequestException(SyncStatusCode.PermissionDenied, "no"));
        network.SetEndpoint("b", handler.Object);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("a", "b").PingAsync(default));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
        Assert.That(network.Statistics.Sent, Is.EqualTo(1));
        Assert.That(network.Statistics.Refused, Is.Zero, "refused counts the network's refusals, not the handler's");
    }

    private static async Task<(int Succeeded, int Failed)> PingManyAsync(ISyncPeer peer)
    {
        int succeeded = 0;
        int failed = 0;
        for (int i = 0; i < Calls; i++)
        {
            try
            {
                await peer.PingAsync(default);
                succeeded++;
            }
            catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.Unavailable)
            {
                failed++;
            }
        }

        return (succeeded, failed);
    }
}
