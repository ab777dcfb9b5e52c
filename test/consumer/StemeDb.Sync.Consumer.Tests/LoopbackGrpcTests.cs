using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Consumer.Tests;

/// <summary>The calls a node's service let through, in order.</summary>
public sealed class RpcJournal
{
    private readonly ConcurrentQueue<SyncRpc> _calls = new();

    public void Add(SyncRpc rpc) => _calls.Enqueue(rpc);

    public SyncRpc[] Calls => _calls.ToArray();
}

/// <summary>A host's own service: the packaged base with a shared-token check and a call journal.</summary>
public sealed class TokenCheckedSyncService : SyncServiceImpl
{
    public const string TokenHeader = "x-stemedb-token";
    public const string Token = "consumer-check-token";

    private readonly RpcJournal _journal;

    public TokenCheckedSyncService(SyncServer server, RpcJournal journal)
        : base(server)
    {
        _journal = journal;
    }

    protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue(TokenHeader) != Token)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "missing or wrong token"));
        }

        _journal.Add(rpc);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Adds the shared token to every call of a client peer.</summary>
internal sealed class TokenHandler : DelegatingHandler
{
    public TokenHandler()
        : base(new SocketsHttpHandler())
    {
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Add(TokenCheckedSyncService.TokenHeader, TokenCheckedSyncService.Token);
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>One node served by Kestrel on a loopback port chosen by the system (HTTP/2 cleartext).</summary>
internal sealed class LoopbackNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackNode(WebApplication app, SyncNode node, RpcJournal journal, Uri address)
    {
        _app = app;
        Node = node;
        Journal = journal;
        Address = address;
    }

    public SyncNode Node { get; }

    public RpcJournal Journal { get; }

    public Uri Address { get; }

    public static async Task<LoopbackNode> StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var node = new SyncNode(
            new SyncNodeOptions { AntiEntropyInterval = Timeout.InfiniteTimeSpan },
            new InMemoryAssertionStore());
        var journal = new RpcJournal();
        builder.Services.AddSingleton(new SyncServer(node.Handler));
        builder.Services.AddSingleton(journal);
        builder.Services.AddGrpc();

        WebApplication app = builder.Build();
        app.MapGrpcService<TokenCheckedSyncService>();
        await node.StartAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new LoopbackNode(app, node, journal, new Uri(address));
    }

    public GrpcSyncPeer CreatePeer(bool withToken) =>
        GrpcSyncPeer.Create(Address, new GrpcSyncPeerOptions
        {
            HttpHandler = withToken ? new TokenHandler() : null,
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Node.DisposeAsync();
    }
}

/// <summary>Two nodes from the packages sync over real gRPC on loopback.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class LoopbackGrpcTests
{
    [Test]
    public async Task SyncWithPeerAsync_TwoNodesOverLoopbackGrpc_Converge(CancellationToken cancellationToken)
    {
        // Arrange
        await using LoopbackNode a = await LoopbackNode.StartAsync(cancellationToken);
        await using LoopbackNode b = await LoopbackNode.StartAsync(cancellationToken);
        for (int i = 0; i < 5; i++)
        {
            await a.Node.IngestAsync(TestAssertions.Encode($"subject:{i}", a.Node.NodeId, TestAssertions.RecentTime), cancellationToken);
        }

        using GrpcSyncPeer peerA = a.CreatePeer(withToken: true);

        // Act
        SyncPassResult result = await b.Node.SyncWithPeerAsync(peerA, cancellationToken);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(result.Fetched, Is.EqualTo(5));
            Assert.That(result.Complete, Is.True);
            Assert.That(b.Node.Count, Is.EqualTo(5));
            Assert.That(b.Node.Root, Is.EqualTo(a.Node.Root));
            Assert.That(a.Journal.Calls, Does.Contain(SyncRpc.ExchangeRoots).And.Contain(SyncRpc.StreamAssertions), "an empty node pulls by one stream");
        });
    }

    [Test]
    public async Task IngestAsync_PeerAddedOverLoopbackGrpc_GossipReachesIt(CancellationToken cancellationToken)
    {
        // Arrange
        await using LoopbackNode a = await LoopbackNode.StartAsync(cancellationToken);
        await using LoopbackNode b = await LoopbackNode.StartAsync(cancellationToken);
        using GrpcSyncPeer peerB = b.CreatePeer(withToken: true);
        a.Node.AddPeer(peerB);

        // Act
        IngestResult ingested = await a.Node.IngestAsync(
            TestAssertions.Encode("subject:gossip", a.Node.NodeId, TestAssertions.RecentTime), cancellationToken);
        while (b.Node.Count == 0)
        {
            await Task.Delay(20, cancellationToken); // Until the push arrives; the fixture's timeout bounds the wait.
        }

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(b.Node.Count, Is.EqualTo(1));
            Assert.That(b.Node.Root, Is.EqualTo(a.Node.Root));
            Assert.That(b.Journal.Calls, Does.Contain(SyncRpc.Broadcast), "live gossip between two nodes of this library goes by the Broadcast extension");
            Assert.That(ingested.Added, Is.True);
        });
    }

    [Test]
    public async Task PingAsync_WithoutTheToken_RefusedByTheSubclassWithPermissionDenied(CancellationToken cancellationToken)
    {
        // Arrange
        await using LoopbackNode a = await LoopbackNode.StartAsync(cancellationToken);
        using GrpcSyncPeer anonymous = a.CreatePeer(withToken: false);
        using GrpcSyncPeer trusted = a.CreatePeer(withToken: true);

        // Act
        SyncPeerException? refused = Assert.ThrowsAsync<SyncPeerException>(async () => await anonymous.PingAsync(NodeId.NewId(), cancellationToken));
        PingResult answered = await trusted.PingAsync(NodeId.NewId(), cancellationToken);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused?.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
            Assert.That(answered.NodeId, Is.EqualTo(a.Node.NodeId));
            Assert.That(a.Journal.Calls, Is.EqualTo(new[] { SyncRpc.Ping }));
        });
    }
}
