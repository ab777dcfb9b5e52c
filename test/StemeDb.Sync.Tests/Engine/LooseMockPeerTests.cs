using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Moq;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// A plain <c>new Mock&lt;ISyncPeer&gt;()</c> with only the v1 calls set up, as a host writes it: Moq answers the
/// extension members with empty values, which are outside the protocol. The engine stops using those extensions with
/// that peer and syncs over v1.
/// </summary>
[TestFixture]
public sealed class LooseMockPeerTests
{
    private readonly StartedNodes _nodes = new();

    [TearDown]
    public async Task TearDown() => await _nodes.DisposeAsync();

    [Test]
    public async Task SyncWithPeer_LooseMockWithV1Setups_FetchesAndPushesOverV1()
    {
        SyncNode node = await _nodes.StartAsync(EngineTestKit.Options(1));
        for (int i = 0; i < 2; i++)
        {
            await node.IngestAsync(EngineTestKit.Data(i, salt: 1));
        }

        AssertionRecord[] remote = Enumerable.Range(0, 3).Select(i => EngineTestKit.Record(i)).ToArray();
        var index = new MerkleIndex();
        foreach (AssertionRecord record in remote)
        {
            index.Add(record.Hash);
        }

        var pushed = new List<AssertionHash>();
        var peer = new Mock<ISyncPeer>();
        peer.SetupGet(p => p.Name).Returns("loose");
        peer.Setup(p => p.ExchangeRootsAsync(It.IsAny<RootSummary>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new RootExchangeResult(new RootSummary(index.Root, 3), false));
        peer.Setup(p => p.GetLeavesAsync(It.IsAny<uint>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new LeavesPage(remote.Select(r => r.Hash).Order().ToArray(), false));
        peer.Setup(p => p.FetchAsync(It.IsAny<IReadOnlyList<AssertionHash>>(), It.IsAny<CancellationToken>()))
            .Returns((IReadOnlyList<AssertionHash> hashes, CancellationToken _) =>
                new ValueTask<IReadOnlyList<AssertionRecord>>(remote.Where(r => hashes.Contains(r.Hash)).ToArray()));
        peer.Setup(p => p.GossipAsync(It.IsAny<AssertionRecord>(), It.IsAny<CancellationToken>()))
            .Callback((AssertionRecord r, CancellationToken _) => pushed.Add(r.Hash))
            .ReturnsAsync(GossipResult.Ok);

        SyncPassResult pass = await node.SyncWithPeerAsync(peer.Object);

        Assert.That(pass is { Fetched: 3, Pushed: 2, Rejected: 0 }, Is.True, pass.ToString());
        Assert.That(node.Count, Is.EqualTo(5));
        Assert.That(pushed, Has.Count.EqualTo(2));
        Assert.That(pushed, Is.Unique);
    }
}
