using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Testing;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Testing;

/// <summary>The wire extensions beyond v1 over the in-memory network: forwarded by default, refused like a v1 peer when switched off.</summary>
[TestFixture]
public sealed class InMemoryNetworkExtensionTests
{
    private readonly List<SyncNode> _nodes = new();
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(EngineTestKit.Start);

    [TearDown]
    public async Task TearDownAsync()
    {
        foreach (SyncNode node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
    }

    [Test]
    public async Task StreamAssertionsAsync_ExtensionsOff_ThrowsUnimplemented()
    {
        var network = new InMemoryNetwork { ForwardExtensions = false };
        SyncNode b = await StartNodeAsync(2);
        network.SetEndpoint("b", b.Handler);

        var ex = Assert.Throws<SyncPeerException>(() => network.CreatePeer("a", "b").StreamAssertionsAsync(null, 0));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unimplemented));
    }

    [Test]
    public async Task StreamAssertionsAsync_EndpointDisconnectedMidStream_NextChunkFailsUnavailable()
    {
        var network = new InMemoryNetwork();
        SyncNode b = await StartNodeAsync(2);
        await b.IngestManyAsync(Enumerable.Range(0, 5_000).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray());
        network.SetEndpoint("b", b.Handler);

        await using IAsyncEnumerator<ReadOnlyMemory<byte>> chunks = network.CreatePeer("a", "b").StreamAssertionsAsync(null, 0).GetAsyncEnumerator();
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        network.Disconnect("b");
        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await chunks.MoveNextAsync());

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task SyncWithPeerAsync_DivergedNodes_ReconcileOnlyWhenForwardedAndBothConverge(bool forward)
    {
        // Arrange: a holds 0..59, b holds 40..99.
        var network = new InMemoryNetwork { ForwardExtensions = forward };
        SyncNode a = await StartNodeAsync(1);
        SyncNode b = await StartNodeAsync(2);
        var counting = new CountingHandler(b.Handler);
        network.SetEndpoint("b", counting);
        for (int i = 0; i < 60; i++)
        {
            await a.IngestAsync(EngineTestKit.Data(i));
        }

        for (int i = 40; i < 100; i++)
        {
            await b.IngestAsync(EngineTestKit.Data(i));
        }

        // Act
        SyncPassResult result = await a.SyncWithPeerAsync(network.CreatePeer("a", "b"));

        // Assert
        Assert.That(counting.ReconcileCalls > 0, Is.EqualTo(forward));
        Assert.That(result.Complete, Is.True);
        Assert.That(result.Fetched, Is.EqualTo(40));
        Assert.That(result.Pushed, Is.EqualTo(40));
        Assert.That(a.Count, Is.EqualTo(100));
        Assert.That(b.Count, Is.EqualTo(100));
        Assert.That(b.Root, Is.EqualTo(a.Root));
    }

    [Test]
    public async Task GossipBatchAsync_Forwarded_StoresEveryPushAtTheTarget()
    {
        var network = new InMemoryNetwork();
        SyncNode b = await StartNodeAsync(2);
        network.SetEndpoint("b", b.Handler);
        AssertionRecord[] records = Enumerable.Range(0, 20).Select(i => EngineTestKit.Record(i)).ToArray();

        IReadOnlyList<GossipResult> results = await network.CreatePeer("a", "b").GossipBatchAsync(records);

        Assert.That(results, Has.Count.EqualTo(20));
        Assert.That(results.All(r => r.Accepted), Is.True);
        Assert.That(b.Count, Is.EqualTo(20));
        Assert.That(b.Root, Is.EqualTo(EngineTestKit.RootOf(records.Select(r => r.Hash))));
    }

    [Test]
    public async Task ExtensionsOff_ReconcileAndGossipBatch_UnimplementedAndNothingReachesTheHandler()
    {
        var network = new InMemoryNetwork { ForwardExtensions = false };
        SyncNode b = await StartNodeAsync(2);
        var counting = new CountingHandler(b.Handler);
        network.SetEndpoint("b", counting);
        ISyncPeer peer = network.CreatePeer("a", "b");

        var batch = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipBatchAsync(new[] { EngineTestKit.Record(1) }));
        var reconcile = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.ReconcileAsync(new ReconcileRoundRequest(1, 0, new byte[3072], ReadOnlyMemory<byte>.Empty, 0, 7)));

        Assert.That(batch!.Code, Is.EqualTo(SyncStatusCode.Unimplemented));
        Assert.That(reconcile!.Code, Is.EqualTo(SyncStatusCode.Unimplemented));
        Assert.That(counting.ReconcileCalls + counting.GossipBatchCalls, Is.Zero);
        Assert.That(b.Count, Is.Zero);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task GetLeavesAsync_WithCursor_AfterCursorWhenForwardedFromFirstLeafOtherwise(bool forward)
    {
        var network = new InMemoryNetwork { ForwardExtensions = forward };
        SyncNode b = await StartNodeAsync(2);
        network.SetEndpoint("b", b.Handler);
        for (int i = 0; i < 30; i++)
        {
            await b.IngestAsync(EngineTestKit.Data(i));
        }

        IReadOnlyList<AssertionHash> all = b.Index.GetLeaves(null, 100);
        ISyncPeer peer = network.CreatePeer("a", "b");

        LeavesPage page = await peer.GetLeavesAsync(5, all[9]);

        Assert.That(page.Leaves, Is.EqualTo(forward ? all.Skip(10).Take(5) : all.Take(5)));
        Assert.That(page.Truncated, Is.True);
    }

    private async Task<SyncNode> StartNodeAsync(int id)
    {
        var node = new SyncNode(EngineTestKit.Options(id, o => o.RunBackgroundLoops = false), new InMemoryAssertionStore(), timeProvider: _time);
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    /// <summary>Forwards to a node's handler and counts the extension calls.</summary>
    private sealed class CountingHandler : ISyncRequestHandler
    {
        private readonly ISyncRequestHandler _inner;
        private int _reconcileCalls;
        private int _gossipBatchCalls;

        public CountingHandler(ISyncRequestHandler inner) => _inner = inner;

        public int ReconcileCalls => Volatile.Read(ref _reconcileCalls);

        public int GossipBatchCalls => Volatile.Read(ref _gossipBatchCalls);

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) => _inner.GossipAsync(message, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            _inner.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) => _inner.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
            _inner.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            _inner.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) => _inner.PingAsync(callerNodeId, cancellationToken);

        ValueTask<ReconcileRoundResponse> ISyncRequestHandler.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reconcileCalls);
            return _inner.ReconcileAsync(request, cancellationToken);
        }

        public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _gossipBatchCalls);
            return _inner.GossipBatchAsync(messages, cancellationToken);
        }
    }
}
