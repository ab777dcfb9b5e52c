using System;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>Deadlines, cancellation and peers that go away mid-call, over Kestrel on 127.0.0.1.</summary>
[TestFixture]
public class CancellationTests
{
    private SyncNode _node = null!;
    private BlockingHandler _handler = null!;
    private KestrelHost _host = null!;

    [SetUp]
    public async Task StartServer()
    {
        _node = await TestNodes.StartAsync();
        _handler = new BlockingHandler(_node.Handler);
        _host = await KestrelHost.StartAsync(_handler);
    }

    [TearDown]
    public async Task StopServer()
    {
        await _host.DisposeAsync();
        await _node.DisposeAsync();
    }

    private async Task AssertServerStillServesAsync()
    {
        using GrpcSyncPeer peer = _host.CreatePeer();
        PingResult ping = await peer.PingAsync(NodeId.NewId());
        Assert.That(ping.NodeId, Is.EqualTo(_node.NodeId));
        GossipResult gossip = await peer.GossipAsync(Records.Create(Guid.NewGuid().ToString()));
        Assert.That(gossip.Accepted, Is.True, gossip.Error);
    }

    [Test]
    public async Task Deadline_HandlerTooSlow_DeadlineExceededAndServerSeesCancellation()
    {
        using GrpcSyncPeer peer = _host.CreatePeer(new GrpcSyncPeerOptions { Deadline = TimeSpan.FromMilliseconds(300) });

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.FetchAsync([BlockingHandler.BlockHash]));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded));
        Assert.That(ex.Message, Does.Contain("deadline"));
        await _handler.Cancelled;
        await AssertServerStillServesAsync();
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task NodeDeadline_PeerWithDefaultOptions_NodeReportsDeadlineExceededAndServerSeesCancellation()
    {
        _handler.BlockExchangeRoots = true;
        await using SyncNode local = await TestNodes.StartAsync(configure: o => o.PeerCallTimeout = TimeSpan.FromMilliseconds(300));
        using GrpcSyncPeer peer = _host.CreatePeer(); // default options: no gRPC deadline, the node's is the only one

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await local.SyncWithPeerAsync(peer));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded));
        Assert.That(ex.Message, Does.Contain("deadline"));
        await _handler.Cancelled;
        _handler.BlockExchangeRoots = false;
        await AssertServerStillServesAsync();
    }

    [Test]
    public async Task Cancellation_TokenCancelledMidCall_OperationCanceledAndServerSeesCancellation()
    {
        using GrpcSyncPeer peer = _host.CreatePeer(new GrpcSyncPeerOptions { Deadline = Timeout.InfiniteTimeSpan });
        using var cts = new CancellationTokenSource();
        Task call = peer.FetchAsync([BlockingHandler.BlockHash], cts.Token).AsTask();
        await _handler.Entered;

        await cts.CancelAsync();

        var ex = Assert.CatchAsync<OperationCanceledException>(async () => await call);
        Assert.That(ex!.CancellationToken, Is.EqualTo(cts.Token));
        await _handler.Cancelled;
        await AssertServerStillServesAsync();
    }

    [Test]
    public async Task ClientDisconnects_MidCall_ServerSeesCancellationAndKeepsServing()
    {
        GrpcSyncPeer peer = _host.CreatePeer(new GrpcSyncPeerOptions { Deadline = Timeout.InfiniteTimeSpan });
        Task call = peer.FetchAsync([BlockingHandler.BlockHash]).AsTask();
        await _handler.Entered;

        peer.Dispose(); // closes the channel and its connection with the call in flight

        Assert.CatchAsync<Exception>(async () => await call);
        await _handler.Cancelled;
        await AssertServerStillServesAsync();
    }

    [Test]
    public async Task ServerGoesAway_MidCall_ClientGetsUnavailable()
    {
        using GrpcSyncPeer peer = _host.CreatePeer(new GrpcSyncPeerOptions { Deadline = Timeout.InfiniteTimeSpan });
        Task call = peer.FetchAsync([BlockingHandler.BlockHash]).AsTask();
        await _handler.Entered;

        await _host.KillAsync();

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await call);
        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));

        // A new server on the same handler serves again.
        _host = await KestrelHost.StartAsync(_handler);
        await AssertServerStillServesAsync();
    }

    [Test]
    public void Unreachable_NothingListening_Unavailable()
    {
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(new Uri("http://127.0.0.1:1"));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(NodeId.NewId()));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }
}
