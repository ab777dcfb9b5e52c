using System;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>TLS, mutual TLS and the authorization hook, with self-signed certificates created at run time.</summary>
[TestFixture]
public class SecurityTests
{
    private X509Certificate2 _server = null!;
    private X509Certificate2 _client = null!;
    private X509Certificate2 _stranger = null!;
    private SyncNode _node = null!;

    [OneTimeSetUp]
    public void CreateCertificates()
    {
        _server = TestCertificates.CreateServer();
        _client = TestCertificates.CreateClient("trusted-peer");
        _stranger = TestCertificates.CreateClient("stranger");
    }

    [OneTimeTearDown]
    public void DisposeCertificates()
    {
        _server.Dispose();
        _client.Dispose();
        _stranger.Dispose();
    }

    [SetUp]
    public async Task StartNode() => _node = await TestNodes.StartAsync();

    [TearDown]
    public async Task StopNode() => await _node.DisposeAsync();

    [Test]
    public async Task Tls_ClientPinsServerCertificate_CallsSucceed()
    {
        await using KestrelHost host = await KestrelHost.StartAsync(_node.Handler, new KestrelHostOptions { ServerCertificate = _server });
        using GrpcSyncPeer peer = host.CreatePeer();

        PingResult ping = await peer.PingAsync(NodeId.NewId());
        GossipResult gossip = await peer.GossipAsync(Records.Create("over tls"));

        Assert.That(host.Address.Scheme, Is.EqualTo("https"));
        Assert.That(ping.NodeId, Is.EqualTo(_node.NodeId));
        Assert.That(gossip.Accepted, Is.True, gossip.Error);
        Assert.That(_node.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Tls_ClientDoesNotTrustServer_UnavailableAndNothingStored()
    {
        await using KestrelHost host = await KestrelHost.StartAsync(_node.Handler, new KestrelHostOptions { ServerCertificate = _server });
        using GrpcSyncPeer peer = GrpcSyncPeer.Create(host.Address); // default validation: a self-signed certificate is not trusted

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipAsync(Records.Create("untrusted")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(ex.Message, Does.Contain("SSL"));
        Assert.That(_node.Count, Is.Zero);
    }

    [Test]
    public async Task MutualTls_TrustedClientCertificate_CallsSucceed()
    {
        await using KestrelHost host = await KestrelHost.StartAsync(
            _node.Handler, new KestrelHostOptions { ServerCertificate = _server, RequiredClientCertificate = _client });
        using GrpcSyncPeer peer = host.CreatePeer(clientCertificate: _client);

        GossipResult gossip = await peer.GossipAsync(Records.Create("mtls"));

        Assert.That(gossip.Accepted, Is.True, gossip.Error);
        Assert.That(_node.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task MutualTls_NoClientCertificate_RefusedAndNothingStored()
    {
        await using KestrelHost host = await KestrelHost.StartAsync(
            _node.Handler, new KestrelHostOptions { ServerCertificate = _server, RequiredClientCertificate = _client });
        using GrpcSyncPeer peer = host.CreatePeer();

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipAsync(Records.Create("no cert")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(_node.Count, Is.Zero);
        await AssertTrustedPeerServedAsync(host);
    }

    [Test]
    public async Task MutualTls_UntrustedClientCertificate_RefusedAndNothingStored()
    {
        await using KestrelHost host = await KestrelHost.StartAsync(
            _node.Handler, new KestrelHostOptions { ServerCertificate = _server, RequiredClientCertificate = _client });
        using GrpcSyncPeer peer = host.CreatePeer(clientCertificate: _stranger);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipAsync(Records.Create("stranger")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
        Assert.That(_node.Count, Is.Zero);
        await AssertTrustedPeerServedAsync(host);
    }

    [Test]
    public async Task AuthorizeHook_NoClientCertificate_UnauthenticatedAndNothingStored()
    {
        await using KestrelHost host = await StartAuthorizingHostAsync();
        using GrpcSyncPeer peer = host.CreatePeer();

        var gossip = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipAsync(Records.Create("anonymous")));
        var ping = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.PingAsync(NodeId.NewId()));

        Assert.That(gossip!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
        Assert.That(ping!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
        Assert.That(_node.Count, Is.Zero);
        await AssertTrustedPeerServedAsync(host);
    }

    [Test]
    public async Task AuthorizeHook_CertificateNotOnAllowList_PermissionDeniedAndNothingStored()
    {
        await using KestrelHost host = await StartAuthorizingHostAsync();
        using GrpcSyncPeer peer = host.CreatePeer(clientCertificate: _stranger);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipAsync(Records.Create("stranger")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
        Assert.That(ex.Message, Does.Contain("stranger"));
        Assert.That(_node.Count, Is.Zero);
        await AssertTrustedPeerServedAsync(host);
    }

    [Test]
    public async Task AuthorizeHook_AllowedCertificate_CallsSucceed()
    {
        await using KestrelHost host = await StartAuthorizingHostAsync();
        using GrpcSyncPeer peer = host.CreatePeer(clientCertificate: _client);

        GossipResult gossip = await peer.GossipAsync(Records.Create("allowed"));

        Assert.That(gossip.Accepted, Is.True, gossip.Error);
        Assert.That(_node.Count, Is.EqualTo(1));
    }

    private async Task AssertTrustedPeerServedAsync(KestrelHost host)
    {
        using GrpcSyncPeer trusted = host.CreatePeer(clientCertificate: _client);
        GossipResult result = await trusted.GossipAsync(Records.Create("after a refusal"));
        Assert.That(result.Accepted, Is.True, result.Error);
        Assert.That(_node.Count, Is.EqualTo(1));
    }

    private Task<KestrelHost> StartAuthorizingHostAsync() => KestrelHost.StartAsync(_node.Handler, new KestrelHostOptions
    {
        ServerCertificate = _server,
        AllowAnyClientCertificate = true,
        ServiceFactory = services => new AllowListService(services.GetRequiredService<ISyncRequestHandler>(), "trusted-peer"),
    });

    /// <summary>The authorization extension point: callers must present a TLS client certificate whose common name is allowed.</summary>
    private sealed class AllowListService : SyncServiceImpl
    {
        private readonly string[] _allowed;

        public AllowListService(ISyncRequestHandler handler, params string[] allowed)
            : base(new SyncServer(handler)) => _allowed = allowed;

        protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context)
        {
            if (!context.AuthContext.IsPeerAuthenticated)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "A client certificate is required."));
            }

            string? name = context.AuthContext.FindPropertiesByName("x509_common_name").FirstOrDefault()?.Value;
            if (name is null || !_allowed.Contains(name))
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"Peer '{name}' may not call {rpc}."));
            }

            return default;
        }
    }
}
