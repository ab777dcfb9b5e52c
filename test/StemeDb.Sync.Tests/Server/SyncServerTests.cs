using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Moq;
using StemeDb.Sync.Testing;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Server;

/// <summary>The transport-neutral server pipeline: guard admission, authorization, the handler, and what counts as a rejection.</summary>
[TestFixture]
public sealed class SyncServerTests
{
    private static readonly SyncCaller Caller = new("peer-a");

    // PeerGuard refuses a caller once it goes over MaxRejectionsPerWindow: with 1, the second rejection blocks it.

    private Mock<ISyncRequestHandler> _handler = null!;
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp()
    {
        _handler = new Mock<ISyncRequestHandler>(MockBehavior.Strict);
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    }

    private static GossipMessage Push(AssertionRecord record) =>
        new(record.Hash.ToArray(), record.Data, record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray());

    [Test]
    public async Task For_NeitherGuardNorAuthorizer_PassesCallsToTheHandler()
    {
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>())).ReturnsAsync(new PingResult(NodeId.NewId(), 3));
        var server = new SyncServer(_handler.Object);

        PingResult ping = await server.For(Caller).PingAsync(ReadOnlyMemory<byte>.Empty);

        Assert.That(ping.AssertionCount, Is.EqualTo(3));
        _handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public void Constructor_NullHandler_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new SyncServer(null!));
        Assert.Throws<ArgumentException>(() => _ = new SyncCaller(string.Empty));
    }

    [Test]
    public async Task Call_AuthorizerAllows_ReachesHandlerWithTheCaller()
    {
        var authorizer = new RecordingAuthorizer();
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>())).ReturnsAsync(new PingResult(NodeId.NewId(), 7));
        var server = new SyncServer(_handler.Object, authorizer: authorizer);

        PingResult ping = await server.For(Caller).PingAsync(ReadOnlyMemory<byte>.Empty);

        Assert.That(ping.AssertionCount, Is.EqualTo(7));
        Assert.That(authorizer.Calls, Is.EqualTo(new[] { ("peer-a", SyncRpc.Ping) }));
    }

    [Test]
    public void Call_AuthorizerRefusesAnUnauthenticatedCaller_HandlerNeverCalledAndFailuresCountAgainstTheSourceOnly()
    {
        var authorizer = new RecordingAuthorizer { Refuse = true };
        var guard = new PeerGuard(new PeerGuardOptions { MaxAuthenticationFailuresPerWindow = 2, MaxRejectionsPerWindow = 0 }, _time);
        var server = new SyncServer(_handler.Object, guard, authorizer);
        ISyncRequestHandler handler = server.For(Caller);

        for (int i = 0; i < 2; i++)
        {
            var refused = Assert.ThrowsAsync<SyncRequestException>(async () => await handler.GetLeavesAsync(10));
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
        }

        var limited = Assert.ThrowsAsync<SyncRequestException>(async () => await handler.GetLeavesAsync(10));

        Assert.Multiple(() =>
        {
            Assert.That(limited!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted), "over the source's budget of failed authentications");
            Assert.That(limited.Message, Does.Contain("valid credentials are still accepted"));
            Assert.That(authorizer.Calls, Has.Count.EqualTo(3), "authentication runs first, every time");
            Assert.That(guard.IsRefused(Caller.Key, out _), Is.False, "no authenticated peer's budget was touched");
        });
        _handler.VerifyNoOtherCalls();
    }

    [Test]
    public async Task Call_ManyWrongCredentialsFromOneAddress_TheRightCredentialsFromTheSameAddressStillWork()
    {
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>())).ReturnsAsync(new PingResult(NodeId.NewId(), 5));
        var server = new SyncServer(_handler.Object, new PeerGuard(new PeerGuardOptions(), _time), new TokenAuthorizer("right"));
        int unauthenticated = 0, limited = 0;

        for (int i = 0; i < 300; i++)
        {
            try
            {
                await server.For(new SyncCaller("ipv4:10.0.0.9", transportContext: "wrong")).PingAsync(ReadOnlyMemory<byte>.Empty);
            }
            catch (SyncRequestException ex) when (ex.Code == SyncStatusCode.Unauthenticated)
            {
                unauthenticated++;
            }
            catch (SyncRequestException ex) when (ex.Code == SyncStatusCode.ResourceExhausted)
            {
                limited++;
            }
        }

        var right = new List<PingResult>();
        for (int i = 0; i < 5; i++)
        {
            right.Add(await server.For(new SyncCaller("ipv4:10.0.0.9", transportContext: "right")).PingAsync(ReadOnlyMemory<byte>.Empty));
        }

        Assert.Multiple(() =>
        {
            Assert.That(unauthenticated, Is.EqualTo(new PeerGuardOptions().MaxAuthenticationFailuresPerWindow));
            Assert.That(limited, Is.EqualTo(300 - unauthenticated));
            Assert.That(right.Select(r => r.AssertionCount), Is.All.EqualTo(5UL), "the right token from the same address is served");
        });
    }

    [Test]
    public void Call_TransportAuthenticatedCallerRefusedByTheAuthorizer_CountsAgainstItsIdentity()
    {
        var authorizer = new RecordingAuthorizer { Refuse = true };
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 1 }, _time);
        var server = new SyncServer(_handler.Object, guard, authorizer);
        var caller = new SyncCaller("auth:node-a", isAuthenticated: true) { Source = "ipv4:10.0.0.1" };

        for (int i = 0; i < 2; i++)
        {
            var refused = Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(caller).GetLeavesAsync(10));
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
        }

        var blocked = Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(caller).GetLeavesAsync(10));

        Assert.That(blocked!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
        Assert.That(authorizer.Calls, Has.Count.EqualTo(2), "a blocked identity is refused before authorization");
        Assert.That(guard.IsRefused("auth:node-a", out _), Is.True);
        _handler.VerifyNoOtherCalls();
    }

    [Test]
    public async Task Call_PeerSpendsItsWorkBudget_RefusedUntilTheBudgetRefills()
    {
        AssertionRecord big = new(AssertionHash.Compute(new byte[1]), new byte[600 * 1024], HlcTimestamp.None);
        _handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new[] { big });
        var guard = new PeerGuard(new PeerGuardOptions { MaxWorkBytesPerSecondPerPeer = 1024 * 1024 }, _time);
        var server = new SyncServer(_handler.Object, guard);
        ReadOnlyMemory<byte>[] ask = [big.Hash.ToArray()];

        await server.For(Caller).FetchAsync(ask);
        await server.For(Caller).FetchAsync(ask); // 1.2 MiB of answers: in debt
        var refused = Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(Caller).FetchAsync(ask));
        IReadOnlyList<AssertionRecord> other = await server.For(new SyncCaller("peer-b")).FetchAsync(ask);
        _time.Advance(TimeSpan.FromSeconds(1));
        IReadOnlyList<AssertionRecord> again = await server.For(Caller).FetchAsync(ask);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
            Assert.That(refused.Message, Does.Contain("Too much work"));
            Assert.That(other, Has.Count.EqualTo(1), "another peer has its own budget");
            Assert.That(again, Has.Count.EqualTo(1), "the budget refills with time");
        });
        _handler.Verify(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()), Times.Exactly(4));
    }

    [Test]
    public async Task StreamAssertions_PeerOverItsWorkBudget_StreamWaitsForTheBudgetInsteadOfFailing()
    {
        byte[] chunk = new byte[512 * 1024];
        _handler.Setup(h => h.StreamAssertionsAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<ulong>(), It.IsAny<CancellationToken>()))
            .Returns(Chunks(chunk, 4));
        var guard = new PeerGuard(new PeerGuardOptions { MaxWorkBytesPerSecondPerPeer = 1024 * 1024 }, _time);
        var server = new SyncServer(_handler.Object, guard, timeProvider: _time);
        await using IAsyncEnumerator<ReadOnlyMemory<byte>> stream = server.For(Caller).StreamAssertionsAsync(ReadOnlyMemory<byte>.Empty, 0).GetAsyncEnumerator();

        int taken = 0;
        while (taken < 3)
        {
            Assert.That(await stream.MoveNextAsync(), Is.True);
            taken++;
        }

        ValueTask<bool> fourth = stream.MoveNextAsync(); // the third chunk put the peer 0.5 MiB in debt
        bool waited = !fourth.IsCompleted;
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(waited, Is.True, "the stream waits while the peer is in debt");
        Assert.That(await fourth, Is.True);
        Assert.That(await stream.MoveNextAsync(), Is.False);

        static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] chunk, int count)
        {
            for (int i = 0; i < count; i++)
            {
                await Task.Yield();
                yield return chunk;
            }
        }
    }

    [Test]
    public async Task Call_RejectedPushes_LoggedNamingTheCallerAtMostOncePerInterval()
    {
        _handler.Setup(h => h.GossipBatchAsync(It.IsAny<IReadOnlyList<GossipMessage>>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(Enumerable.Repeat(GossipResult.Rejected("bad"), 100).ToArray());
        var logger = new ListLogger();
        var server = new SyncServer(_handler.Object, logger: logger, timeProvider: _time);
        AssertionRecord record = EngineTestKit.Record(1);

        await server.For(Caller).GossipBatchAsync(Enumerable.Repeat(Push(record), 100).ToArray());
        await server.For(Caller).GossipBatchAsync(Enumerable.Repeat(Push(record), 100).ToArray());
        _time.Advance(SyncServer.RefusalLogInterval);
        await server.For(Caller).GossipBatchAsync(Enumerable.Repeat(Push(record), 100).ToArray());

        Assert.That(logger.Lines.Select(l => (l.Id, l.Peer)), Is.EqualTo(new[] { (403, "peer-a"), (403, "peer-a") }));
        Assert.That(logger.Lines[1].Message, Does.Contain("(199 more rejected pushes"));
    }

    [Test]
    public void Call_GuardRefusesConcurrentCall_IsResourceExhaustedWithoutReachingHandler()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource<PingResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()))
            .Returns(() =>
            {
                entered.TrySetResult();
                return new ValueTask<PingResult>(release.Task);
            });
        var server = new SyncServer(_handler.Object, new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 }, _time));

        ValueTask<PingResult> first = server.For(Caller).PingAsync(ReadOnlyMemory<byte>.Empty);
        var refused = Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(new SyncCaller("peer-a")).PingAsync(ReadOnlyMemory<byte>.Empty));
        release.SetResult(new PingResult(NodeId.NewId(), 0));

        Assert.That(entered.Task.IsCompleted, Is.True);
        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
        Assert.DoesNotThrowAsync(async () => await first);
        _handler.Verify(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task Call_HandlerRefusalsAndRejectedPushes_CountAgainstTheCallerOnly()
    {
        AssertionRecord record = EngineTestKit.Record(1);
        _handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>())).ReturnsAsync(GossipResult.Rejected("bad hash"));
        _handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncRequestException(SyncStatusCode.InvalidArgument, "too many hashes"));
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>())).ReturnsAsync(new PingResult(NodeId.NewId(), 0));
        var server = new SyncServer(_handler.Object, new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 1 }, _time));
        ISyncRequestHandler a = server.For(Caller);

        GossipResult rejected = await a.GossipAsync(Push(record));
        Assert.ThrowsAsync<SyncRequestException>(async () => await a.FetchAsync(new ReadOnlyMemory<byte>[] { record.Hash.ToArray() }));
        var blocked = Assert.ThrowsAsync<SyncRequestException>(async () => await a.PingAsync(ReadOnlyMemory<byte>.Empty));
        PingResult other = await server.For(new SyncCaller("peer-b")).PingAsync(ReadOnlyMemory<byte>.Empty);

        Assert.That(rejected.Accepted, Is.False);
        Assert.That(blocked!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
        Assert.That(other.AssertionCount, Is.Zero, "another caller is not affected");
    }

    [Test]
    public async Task InMemoryNetwork_EndpointServedThroughServer_AuthorizesByCallingEndpointName()
    {
        await using var node = new SyncNode(EngineTestKit.Options(1), new InMemoryAssertionStore());
        await node.StartAsync();
        var authorizer = new RecordingAuthorizer { Allowed = "trusted" };
        var network = new InMemoryNetwork();
        network.SetEndpoint("server", new SyncServer(node.Handler, authorizer: authorizer));

        GossipResult accepted = await network.CreatePeer("trusted", "server").GossipAsync(EngineTestKit.Record(1));
        var refused = Assert.ThrowsAsync<SyncPeerException>(async () => await network.CreatePeer("stranger", "server").GossipAsync(EngineTestKit.Record(2)));

        Assert.That(accepted, Is.EqualTo(GossipResult.Ok));
        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.PermissionDenied));
        Assert.That(node.Count, Is.EqualTo(1));
        Assert.That(authorizer.Calls, Is.EqualTo(new[] { ("trusted", SyncRpc.Gossip), ("stranger", SyncRpc.Gossip) }));
    }

    [Test]
    public void Call_AuthorizerKeepsRefusing_EveryRefusalCountedButLoggedOncePerCallerPerInterval()
    {
        var authorizer = new RecordingAuthorizer { Refuse = true };
        var logger = new ListLogger();
        var server = new SyncServer(_handler.Object, authorizer: authorizer, logger: logger, timeProvider: _time);
        using var refused = new MetricRecorder("stemedb.sync.server.refused", "reason", "permission_denied");

        for (int i = 0; i < 5; i++)
        {
            Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(Caller).GetLeavesAsync(10));
        }

        Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(new SyncCaller("peer-b")).GetLeavesAsync(10));
        _time.Advance(SyncServer.RefusalLogInterval);
        Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(Caller).GetLeavesAsync(10));

        Assert.Multiple(() =>
        {
            Assert.That(refused.Total, Is.EqualTo(7), "every refusal is counted");
            Assert.That(logger.Lines.Select(l => (l.Id, l.Peer)), Is.EqualTo(new[] { (402, "peer-a"), (402, "peer-b"), (402, "peer-a") }));
            Assert.That(logger.Lines[2].Message, Does.Contain("(4 more such refusals"), "the next line reports the ones not logged");
        });
        _handler.VerifyNoOtherCalls();
    }

    [Test]
    public void Call_GuardKeepsRefusing_LoggedOncePerIntervalAndCounted()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 0 }, _time);
        guard.RecordRejection(Caller.Key);
        var logger = new ListLogger();
        var server = new SyncServer(_handler.Object, guard, logger: logger, timeProvider: _time);
        using var limited = new MetricRecorder("stemedb.sync.server.refused", "reason", "limited");

        for (int i = 0; i < 3; i++)
        {
            var ex = Assert.ThrowsAsync<SyncRequestException>(async () => await server.For(Caller).GetLeavesAsync(10));
            Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
        }

        Assert.That(limited.Total, Is.EqualTo(3));
        Assert.That(logger.Lines.Select(l => l.Id), Is.EqualTo(new[] { 400 }));
    }

    /// <summary>Records event ids, the peer named in the state and the message.</summary>
    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<(int Id, string? Peer, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string? peer = state is IReadOnlyList<KeyValuePair<string, object?>> values
                ? values.FirstOrDefault(v => v.Key == "Peer").Value?.ToString()
                : null;
            Lines.Add((eventId.Id, peer, formatter(state, exception)));
        }
    }

    /// <summary>Accepts a caller whose transport context is the token.</summary>
    private sealed class TokenAuthorizer(string token) : ISyncCallAuthorizer
    {
        public ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken) =>
            Equals(caller.TransportContext, token) ? default : throw new SyncRequestException(SyncStatusCode.Unauthenticated, "The token is not accepted.");
    }

    private sealed class RecordingAuthorizer : ISyncCallAuthorizer
    {
        public bool Refuse { get; init; }

        public string? Allowed { get; init; }

        public List<(string, SyncRpc)> Calls { get; } = new();

        public ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add((caller.Key, rpc));
            }

            if (Refuse || (Allowed is not null && caller.Key != Allowed))
            {
                throw new SyncRequestException(SyncStatusCode.PermissionDenied, $"{caller} may not call {rpc}.");
            }

            return default;
        }
    }
}
