using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>
/// The v1 contract does not say in which order <c>GetLeaves</c> lists leaves. A v1 page in another order is sorted by
/// the engine; a truncated one is then only used to pull (it is not a prefix of the peer's set).
/// </summary>
[TestFixture]
[CancelAfter(10_000)]
public sealed class V1LeafOrderTests
{
    private readonly StartedNodes _nodes = new();

    [TearDown]
    public async Task TearDown() => await _nodes.DisposeAsync();

    [Test]
    public async Task SyncWithPeer_V1PeerListsLeavesInItsOwnOrder_Converges()
    {
        (SyncNode a, SyncNode b, ISyncPeer peer) = await PairAsync(remote: 50, local: 10);

        SyncPassResult pass = await b.SyncWithPeerAsync(peer);

        Assert.That(pass is { Fetched: 50, Pushed: 10, Complete: true }, Is.True, pass.ToString());
        Assert.That(b.Root, Is.EqualTo(a.Root));
    }

    [Test]
    public async Task SyncWithPeer_V1PeerTruncatedPageInItsOwnOrder_PullsThePageAndPushesNothing()
    {
        (SyncNode a, SyncNode b, ISyncPeer peer) = await PairAsync(remote: 30, local: 5, o => o.MaxLeavesPerRequest = 10);

        SyncPassResult pass = await b.SyncWithPeerAsync(peer);
        SyncPassResult again = await b.SyncWithPeerAsync(peer);

        Assert.That(pass is { Fetched: 10, Pushed: 0, Complete: false }, Is.True, pass.ToString());
        Assert.That(again is { Fetched: 0, Pushed: 0, Complete: false }, Is.True, again.ToString());
        Assert.That(b.Count, Is.EqualTo(15));
        Assert.That(a.Count, Is.EqualTo(30));
    }

    private async Task<(SyncNode A, SyncNode B, ISyncPeer Peer)> PairAsync(int remote, int local, System.Action<SyncNodeOptions>? configure = null)
    {
        var time = new FakeTimeProvider(EngineTestKit.Start);
        var network = new InMemoryNetwork { ForwardExtensions = false };
        SyncNode a = await _nodes.StartAsync(EngineTestKit.Options(1), time: time);
        SyncNode b = await _nodes.StartAsync(EngineTestKit.Options(2, configure), time: time);
        for (int i = 0; i < remote; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        for (int i = 0; i < local; i++)
        {
            await b.IngestAsync(EngineTestKit.Data(i, salt: 9));
        }

        network.SetEndpoint("a", a.Handler);
        return (a, b, new ReversingPeer(network.CreatePeer("b", "a")));
    }

    /// <summary>A v1 peer that lists its leaves in descending order.</summary>
    private sealed class ReversingPeer(ISyncPeer inner) : ISyncPeer
    {
        public string Name => inner.Name;

        public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default) =>
            inner.GossipAsync(record, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default) =>
            inner.ExchangeRootsAsync(local, cancellationToken);

        public async ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default)
        {
            LeavesPage page = await inner.GetLeavesAsync(maxLeaves, cancellationToken);
            return new LeavesPage(page.Leaves.Reverse().ToArray(), page.Truncated);
        }

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default) =>
            inner.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
            inner.PingAsync(self, cancellationToken);
    }
}
