using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Moq;

namespace StemeDb.Sync.Consumer.Tests;

/// <summary>A host unit-tests its node with the in-memory store and a Moq peer, no network.</summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class EngineWithMockedPeerTests
{
    private static SyncNodeOptions Options() => new() { AntiEntropyInterval = Timeout.InfiniteTimeSpan };

    private static Mock<ISyncPeer> RemotePeerHolding(IReadOnlyList<AssertionRecord> answers, IReadOnlyList<AssertionRecord> holds)
    {
        AssertionHash remoteRoot = SyncProtocol.ComputeRoot(holds.Select(r => r.Hash));

        var peer = new Mock<ISyncPeer>(MockBehavior.Strict);
        peer.SetupGet(p => p.Name).Returns("mocked-remote");
        peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .Returns(new ValueTask<RootExchangeResult>(new RootExchangeResult(new RootSummary(remoteRoot, holds.Count), false)));
        peer.Setup(p => p.GetLeavesAsync(It.IsAny<uint>(), It.IsAny<CancellationToken>()))
            .Returns(new ValueTask<LeavesPage>(new LeavesPage(holds.Select(r => r.Hash).Order().ToArray(), false)));
        peer.Setup(p => p.FetchAsync(It.IsAny<IReadOnlyList<AssertionHash>>(), It.IsAny<CancellationToken>()))
            .Returns((IReadOnlyList<AssertionHash> hashes, CancellationToken _) =>
                new ValueTask<IReadOnlyList<AssertionRecord>>(answers.Where(r => hashes.Contains(r.Hash)).ToArray()));

        // The mocked remote is a v1-only peer: it lacks the extensions and ignores the leaves cursor. (The set
        // reconciliation extensions are not part of the public interface: a host's peer never has them, and the
        // engine falls back to the leaves without any set-up.)
        peer.Setup(p => p.StreamAssertionsAsync(It.IsAny<AssertionHash?>(), It.IsAny<ulong>(), It.IsAny<CancellationToken>()))
            .Throws(new SyncPeerException(SyncStatusCode.Unimplemented, "v1 peer: no StreamAssertions"));
        peer.Setup(p => p.GetLeavesAsync(It.IsAny<uint>(), It.IsAny<AssertionHash?>(), It.IsAny<CancellationToken>()))
            .Returns(new ValueTask<LeavesPage>(new LeavesPage(holds.Select(r => r.Hash).Order().ToArray(), false)));
        return peer;
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerHoldsRecordsTheNodeLacks_FetchesAndStoresThem(CancellationToken cancellationToken)
    {
        // Arrange
        NodeId remoteId = NodeId.NewId();
        AssertionRecord[] remote = Enumerable.Range(0, 3)
            .Select(i => TestAssertions.Record($"subject:{i}", remoteId, TestAssertions.RecentTime))
            .ToArray();
        Mock<ISyncPeer> peer = RemotePeerHolding(remote, remote);
        var store = new InMemoryAssertionStore();
        await using var node = new SyncNode(Options(), store);
        await node.StartAsync(cancellationToken);

        // Act
        SyncPassResult result = await node.SyncWithPeerAsync(peer.Object, cancellationToken);

        // Assert
        Assert.Multiple(async () =>
        {
            Assert.That(result.Fetched, Is.EqualTo(3));
            Assert.That(result.Rejected, Is.Zero);
            Assert.That(await store.CountAsync(cancellationToken), Is.EqualTo(3));
            Assert.That(node.Count, Is.EqualTo(3));
            foreach (AssertionRecord record in remote)
            {
                AssertionRecord? stored = await store.GetAsync(record.Hash, cancellationToken);
                Assert.That(stored?.Data.ToArray(), Is.EqualTo(record.Data.ToArray()));
            }
        });
        peer.Verify(p => p.FetchAsync(It.IsAny<IReadOnlyList<AssertionHash>>(), It.IsAny<CancellationToken>()), Times.AtLeastOnce());
    }

    [Test]
    public async Task SyncWithPeerAsync_PeerAnswersBytesThatDoNotMatchTheirHash_RejectsAndStoresNothing(CancellationToken cancellationToken)
    {
        // Arrange: the peer lists a hash, then answers other bytes under it.
        NodeId remoteId = NodeId.NewId();
        AssertionRecord genuine = TestAssertions.Record("subject:genuine", remoteId, TestAssertions.RecentTime);
        byte[] otherBytes = TestAssertions.Encode("subject:forged", remoteId, TestAssertions.RecentTime);
        var forged = new AssertionRecord(genuine.Hash, otherBytes, genuine.Timestamp);
        Mock<ISyncPeer> peer = RemotePeerHolding([forged], [genuine]);
        var store = new InMemoryAssertionStore();
        await using var node = new SyncNode(Options(), store);
        await node.StartAsync(cancellationToken);

        // Act
        SyncPassResult result = await node.SyncWithPeerAsync(peer.Object, cancellationToken);

        // Assert
        Assert.Multiple(async () =>
        {
            Assert.That(result.Rejected, Is.EqualTo(1));
            Assert.That(result.Fetched, Is.Zero);
            Assert.That(await store.CountAsync(cancellationToken), Is.Zero);
            Assert.That(node.Root, Is.EqualTo(SyncProtocol.ComputeRoot([])));
        });
    }

    [Test]
    public async Task IngestAsync_NodeWithMockedPeer_GossipsTheIngestedRecord(CancellationToken cancellationToken)
    {
        // Arrange
        var gossiped = new TaskCompletionSource<AssertionRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        var peer = new Mock<ISyncPeer>();
        peer.SetupGet(p => p.Name).Returns("mocked-remote");
        peer.Setup(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>()))
            .Callback((AssertionRecord record, CancellationToken _) => gossiped.TrySetResult(record))
            .Returns(new ValueTask<GossipResult>(GossipResult.Ok));
        await using var node = new SyncNode(Options(), new InMemoryAssertionStore());
        await node.StartAsync(cancellationToken);
        node.AddPeer(peer.Object);
        byte[] bytes = TestAssertions.Encode("subject:gossip", node.NodeId, TestAssertions.RecentTime);

        // Act
        IngestResult ingested = await node.IngestAsync(bytes, cancellationToken);
        AssertionRecord pushed = await gossiped.Task.WaitAsync(cancellationToken);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(ingested.Added, Is.True);
            Assert.That(ingested.Hash, Is.EqualTo(AssertionHash.Compute(bytes)));
            Assert.That(pushed.Hash, Is.EqualTo(ingested.Hash));
            Assert.That(pushed.Data.ToArray(), Is.EqualTo(bytes));
        });
    }

    [Test]
    public async Task IngestAsync_RkyvValidationAndBytesThatAreNotAnAssertion_ThrowsAndStoresNothing(CancellationToken cancellationToken)
    {
        // Arrange: a host that accepts only well-formed rkyv assertions.
        var store = new InMemoryAssertionStore();
        SyncNodeOptions options = Options();
        options.ContentValidator = RkyvAssertionValidator.Instance;
        await using var node = new SyncNode(options, store);
        await node.StartAsync(cancellationToken);

        // Act + Assert
        Assert.That(async () => await node.IngestAsync(new byte[] { 1, 2, 3 }, cancellationToken), Throws.InstanceOf<ArgumentException>());
        Assert.That(await store.CountAsync(cancellationToken), Is.Zero);
    }
}
