using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Moq;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests.Reliability;

/// <summary>The per-peer guard as wired into <see cref="SyncServiceImpl"/> (called directly, no transport).</summary>
[TestFixture]
public sealed class PeerGuardServiceTests
{
    private static readonly PingResult Pong = new(NodeId.NewId(), 0);

    [Test]
    public async Task Service_NoGuard_EveryCallAdmitted()
    {
        Mock<ISyncRequestHandler> handler = Handler();
        var service = new SyncServiceImpl(new SyncServer(handler.Object));

        for (int i = 0; i < 100; i++)
        {
            await service.Ping(new PingRequest(), new TestServerCallContext());
        }

        handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<System.Threading.CancellationToken>()), Times.Exactly(100));
    }

    [Test]
    public async Task Gossip_RejectedPushesOverLimit_PeerRefusedWithResourceExhaustedAndHandlerNotCalled()
    {
        Mock<ISyncRequestHandler> handler = Handler();
        handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<System.Threading.CancellationToken>()))
            .ReturnsAsync(GossipResult.Rejected("bad"));
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 2 });
        var service = new SyncServiceImpl(new SyncServer(handler.Object, guard));

        for (int i = 0; i < 3; i++)
        {
            GossipResponse answer = await service.Gossip(new GossipRequest(), new TestServerCallContext());
            Assert.That(answer.Accepted, Is.False);
        }

        var refused = Assert.ThrowsAsync<RpcException>(async () => await service.Gossip(new GossipRequest(), new TestServerCallContext()));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
            Assert.That(refused.Status.Detail, Does.Contain("Too many rejected requests"));
        });
        handler.Verify(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<System.Threading.CancellationToken>()), Times.Exactly(3));
    }

    [Test]
    public void Fetch_InvalidRequestsOverLimit_PeerRefused()
    {
        Mock<ISyncRequestHandler> handler = Handler();
        handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<System.Threading.CancellationToken>()))
            .ThrowsAsync(new SyncRequestException(SyncStatusCode.InvalidArgument, "bad hash"));
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 1 });
        var service = new SyncServiceImpl(new SyncServer(handler.Object, guard));

        var first = Assert.ThrowsAsync<RpcException>(async () => await service.FetchAssertions(new FetchRequest(), new TestServerCallContext()));
        var second = Assert.ThrowsAsync<RpcException>(async () => await service.FetchAssertions(new FetchRequest(), new TestServerCallContext()));
        var third = Assert.ThrowsAsync<RpcException>(async () => await service.Ping(new PingRequest(), new TestServerCallContext()));

        Assert.Multiple(() =>
        {
            Assert.That(first!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(second!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(third!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        });
    }

    [Test]
    public void Authorize_RefusalsOfAnUnauthenticatedCallerCountAgainstItsSourceAlone()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxAuthenticationFailuresPerWindow = 0 });
        var service = new RefusingService(Handler().Object, guard);

        var first = Assert.ThrowsAsync<RpcException>(async () => await service.Ping(new PingRequest(), new TestServerCallContext()));

        Assert.Multiple(() =>
        {
            Assert.That(first!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), "over the source's budget of failed authentications");
            Assert.That(guard.IsRefused("ipv4:127.0.0.1", out _), Is.False, "no authenticated peer's budget is touched");
        });
    }

    [Test]
    public void Authorize_SubclassRefusesEveryCall_RefusalsLoggedOncePerCallerAcrossServiceInstances()
    {
        var logger = new CountingLogger();
        var server = new SyncServer(Handler().Object, new PeerGuard(), logger: logger);

        // ASP.NET Core makes a service per call unless it is registered as a singleton.
        for (int i = 0; i < 5; i++)
        {
            Assert.ThrowsAsync<RpcException>(async () => await new RefusingServiceOver(server).Ping(new PingRequest(), new TestServerCallContext()));
        }

        Assert.That(logger.Warnings, Is.EqualTo(1), "one line per caller and minute, whatever the number of service instances");
    }

    [Test]
    public void GetSource_Ipv6Callers_KeyedByTheirSlash64()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SourceOf("ipv6:[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:5001"), Is.EqualTo("ipv6:[2001:db8:1:2::]/64"));
            Assert.That(SourceOf("ipv6:[2001:db8:1:2::7]:40000"), Is.EqualTo("ipv6:[2001:db8:1:2::]/64"));
            Assert.That(SourceOf("ipv6:[::ffff:10.0.0.7]:5001"), Is.EqualTo("ipv4:10.0.0.7"));
            Assert.That(SourceOf("ipv4:10.0.0.7:5001"), Is.EqualTo("ipv4:10.0.0.7"));
            Assert.That(SourceOf(string.Empty), Is.EqualTo("unknown"));
        });

        static string SourceOf(string peer) => SourceProbe.Of(new TestServerCallContext(peer));
    }

    [Test]
    public async Task GetPeerKey_Default_AddressWithoutPort()
    {
        // The test context's peer is "ipv4:127.0.0.1:1": a refusal recorded for the address without the port applies.
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 0 });
        var service = new SyncServiceImpl(new SyncServer(Handler().Object, guard));
        await service.Ping(new PingRequest(), new TestServerCallContext());

        guard.RecordRejection("ipv4:127.0.0.1");

        var refused = Assert.ThrowsAsync<RpcException>(async () => await service.Ping(new PingRequest(), new TestServerCallContext()));
        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
    }

    [Test]
    public void GetPeerKey_AuthenticatedCallers_KeyedByTheirOwnIdentity()
    {
        string a = KeyProbe.Of(Authenticated("node-a.cluster.internal"));
        string b = KeyProbe.Of(Authenticated("node-b.cluster.internal"));

        Assert.Multiple(() =>
        {
            Assert.That(a, Is.EqualTo("auth:node-a.cluster.internal"));
            Assert.That(b, Is.Not.EqualTo(a), "two certificates, two budgets");
        });

        static TestServerCallContext Authenticated(string name) => new()
        {
            Auth = new AuthContext("x509_subject_alternative_name", new System.Collections.Generic.Dictionary<string, System.Collections.Generic.List<AuthProperty>>
            {
                ["x509_subject_alternative_name"] = new() { AuthProperty.Create("x509_subject_alternative_name", System.Text.Encoding.UTF8.GetBytes(name)) },
            }),
        };
    }

    private sealed class KeyProbe(SyncServer server) : SyncServiceImpl(server)
    {
        public static string Of(ServerCallContext context) => new KeyProbe(new SyncServer(Handler().Object)).GetPeerKey(context);
    }

    private static Mock<ISyncRequestHandler> Handler()
    {
        var handler = new Mock<ISyncRequestHandler>();
        handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<System.Threading.CancellationToken>())).ReturnsAsync(Pong);
        return handler;
    }

    private sealed class SourceProbe(SyncServer server) : SyncServiceImpl(server)
    {
        public static string Of(ServerCallContext context) => GetSource(context);
    }

    private sealed class RefusingServiceOver(SyncServer server) : SyncServiceImpl(server)
    {
        protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.PermissionDenied, "not on the allow list"));
    }

    private sealed class CountingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public int Warnings { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == Microsoft.Extensions.Logging.LogLevel.Warning)
            {
                Warnings++;
            }
        }
    }

    private sealed class RefusingService(ISyncRequestHandler handler, PeerGuard guard) : SyncServiceImpl(new SyncServer(handler, guard))
    {
        protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.PermissionDenied, "not on the allow list"));
    }
}
