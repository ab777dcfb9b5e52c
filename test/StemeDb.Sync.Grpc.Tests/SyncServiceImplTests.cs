using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Moq;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests;

[TestFixture]
public class SyncServiceImplTests
{
    private Mock<ISyncRequestHandler> _handler = null!;

    [SetUp]
    public void SetUp() => _handler = new Mock<ISyncRequestHandler>(MockBehavior.Strict);

    [Test]
    public void Constructor_NullHandler_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new SyncServiceImpl(null!));
    }

    [Test]
    public async Task Gossip_Request_PassesRawFieldsToHandlerAndReturnsItsAnswer()
    {
        GossipMessage seen = default;
        _handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>()))
            .Callback((GossipMessage m, CancellationToken _) => seen = m)
            .ReturnsAsync(GossipResult.Rejected("nope"));
        var request = new GossipRequest
        {
            AssertionHash = ByteString.CopyFrom(1, 2, 3),
            AssertionData = ByteString.CopyFrom(4, 5),
            HlcTime = 42,
            HlcCounter = 7,
            HlcNodeId = ByteString.CopyFrom(9),
        };

        GossipResponse response = await new SyncServiceImpl(new SyncServer(_handler.Object)).Gossip(request, new TestServerCallContext());

        Assert.That(response.Accepted, Is.False);
        Assert.That(response.Error, Is.EqualTo("nope"));
        Assert.That(seen.Hash.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(seen.Data.ToArray(), Is.EqualTo(new byte[] { 4, 5 }));
        Assert.That(seen.HlcTime, Is.EqualTo(42UL));
        Assert.That(seen.HlcCounter, Is.EqualTo(7u));
        Assert.That(seen.HlcNodeId.ToArray(), Is.EqualTo(new byte[] { 9 }));
    }

    [TestCase(SyncStatusCode.InvalidArgument, StatusCode.InvalidArgument)]
    [TestCase(SyncStatusCode.ResourceExhausted, StatusCode.ResourceExhausted)]
    [TestCase(SyncStatusCode.PermissionDenied, StatusCode.PermissionDenied)]
    [TestCase(SyncStatusCode.Unauthenticated, StatusCode.Unauthenticated)]
    [TestCase(SyncStatusCode.Unimplemented, StatusCode.Unimplemented)]
    [TestCase(SyncStatusCode.Unavailable, StatusCode.Unavailable)]
    [TestCase(SyncStatusCode.DeadlineExceeded, StatusCode.DeadlineExceeded)]
    [TestCase(SyncStatusCode.Internal, StatusCode.Internal)]
    [TestCase(SyncStatusCode.InvalidResponse, StatusCode.Internal)]
    public void FetchAssertions_HandlerRefuses_ThrowsRpcExceptionWithSameCodeAndMessage(SyncStatusCode code, StatusCode expected)
    {
        _handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncRequestException(code, "too many hashes"));

        var ex = Assert.ThrowsAsync<RpcException>(async () =>
            await new SyncServiceImpl(new SyncServer(_handler.Object)).FetchAssertions(new FetchRequest(), new TestServerCallContext()));

        Assert.That(ex!.StatusCode, Is.EqualTo(expected));
        Assert.That(ex.Status.Detail, Is.EqualTo("too many hashes"));
    }

    [Test]
    public void Ping_HandlerFailsUnexpectedly_ThrowsInternalWithoutDetailsAndCallsHook()
    {
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new InvalidOperationException("secret internal state"));
        var service = new RecordingService(_handler.Object);

        var ex = Assert.ThrowsAsync<RpcException>(async () => await service.Ping(new PingRequest(), new TestServerCallContext()));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Internal));
        Assert.That(ex.Status.Detail, Does.Not.Contain("secret"));
        Assert.That(service.Unexpected, Is.EqualTo(new[] { SyncRpc.Ping }));
    }

    [Test]
    public void GetLeaves_CallCancelled_ThrowsCancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        _handler.Setup(h => h.GetLeavesAsync(It.IsAny<uint>(), It.IsAny<CancellationToken>()))
            .Returns((uint _, CancellationToken t) => ValueTask.FromCanceled<LeavesPage>(t));

        var ex = Assert.ThrowsAsync<RpcException>(async () =>
            await new SyncServiceImpl(new SyncServer(_handler.Object)).GetLeaves(new GetLeavesRequest(), new TestServerCallContext(cancellationToken: cts.Token)));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Cancelled));
    }

    [Test]
    public async Task GetLeaves_Page_IsMappedInOrderWithTruncated()
    {
        AssertionHash a = AssertionHash.Compute("a"u8);
        AssertionHash b = AssertionHash.Compute("b"u8);
        AssertionHash[] sorted = new[] { a, b }.Order().ToArray();
        _handler.Setup(h => h.GetLeavesAsync(5u, It.IsAny<CancellationToken>())).ReturnsAsync(new LeavesPage(sorted, true));

        GetLeavesResponse response = await new SyncServiceImpl(new SyncServer(_handler.Object)).GetLeaves(new GetLeavesRequest { MaxLeaves = 5 }, new TestServerCallContext());

        Assert.That(response.Truncated, Is.True);
        Assert.That(response.Leaves.Select(l => l.ToByteArray()), Is.EqualTo(sorted.Select(h => h.ToArray())));
    }

    [Test]
    public async Task ExchangeRoots_Result_IsMapped()
    {
        AssertionHash root = AssertionHash.Compute("root"u8);
        _handler.Setup(h => h.ExchangeRootsAsync(It.IsAny<ReadOnlyMemory<byte>>(), 3UL, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new RootExchangeResult(new RootSummary(root, 8), false));

        RootExchangeResponse response = await new SyncServiceImpl(new SyncServer(_handler.Object))
            .ExchangeRoots(new RootExchangeRequest { AssertionCount = 3 }, new TestServerCallContext());

        Assert.That(response.MerkleRoot.ToByteArray(), Is.EqualTo(root.ToArray()));
        Assert.That(response.AssertionCount, Is.EqualTo(8UL));
        Assert.That(response.RootsMatch, Is.False);
    }

    [Test]
    public async Task FetchAssertions_Records_AreMappedWithTimestamps()
    {
        AssertionRecord record = Records.Create("x");
        IReadOnlyList<ReadOnlyMemory<byte>>? seen = null;
        _handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()))
            .Callback((IReadOnlyList<ReadOnlyMemory<byte>> hs, CancellationToken _) => seen = hs)
            .ReturnsAsync(new[] { record });
        var request = new FetchRequest();
        request.Hashes.Add(ByteString.CopyFrom(record.Hash.ToArray()));
        request.Hashes.Add(ByteString.CopyFrom(7));

        FetchResponse response = await new SyncServiceImpl(new SyncServer(_handler.Object)).FetchAssertions(request, new TestServerCallContext());

        Assert.That(seen!.Select(h => h.ToArray()), Is.EqualTo(new[] { record.Hash.ToArray(), new byte[] { 7 } }));
        AssertionData item = response.Assertions.Single();
        Assert.That(item.Hash.ToByteArray(), Is.EqualTo(record.Hash.ToArray()));
        Assert.That(item.Data.ToByteArray(), Is.EqualTo(record.Data.ToArray()));
        Assert.That(item.HlcTime, Is.EqualTo(record.Timestamp.Time));
        Assert.That(item.HlcCounter, Is.EqualTo(record.Timestamp.Counter));
        Assert.That(item.HlcNodeId.ToByteArray(), Is.EqualTo(record.Timestamp.NodeId.ToArray()));
    }

    [Test]
    public void AuthorizeHook_Refuses_HandlerIsNeverCalled()
    {
        var service = new RecordingService(_handler.Object) { Refuse = true };

        var ex = Assert.ThrowsAsync<RpcException>(async () => await service.Gossip(new GossipRequest(), new TestServerCallContext()));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(service.Authorized, Is.EqualTo(new[] { SyncRpc.Gossip }));
        _handler.VerifyNoOtherCalls();
    }

    [Test]
    public void AuthorizeHook_RefusesRepeatedly_CallerGetsItsStatusAndTheServerLogsTheKindOnce()
    {
        var logger = new EventLogger();
        var service = new RecordingService(_handler.Object, logger) { Refuse = true };

        var first = Assert.ThrowsAsync<RpcException>(async () => await service.Gossip(new GossipRequest(), new TestServerCallContext()));
        var second = Assert.ThrowsAsync<RpcException>(async () => await service.Gossip(new GossipRequest(), new TestServerCallContext()));

        Assert.Multiple(() =>
        {
            Assert.That(first!.Status, Is.EqualTo(new Status(StatusCode.PermissionDenied, "no")));
            Assert.That(second!.Status, Is.EqualTo(new Status(StatusCode.PermissionDenied, "no")));
            Assert.That(logger.Events, Is.EqualTo(new[] { (402, "permission_denied") }), "the override's refusal is the server's: logged once by kind");
        });
        _handler.VerifyNoOtherCalls();
    }

    [Test]
    public async Task AuthorizeHook_EveryRpc_IsCalledWithItsName()
    {
        _handler.Setup(h => h.GossipAsync(It.IsAny<GossipMessage>(), It.IsAny<CancellationToken>())).ReturnsAsync(GossipResult.Ok);
        _handler.Setup(h => h.ExchangeRootsAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<ulong>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new RootExchangeResult(default, false));
        _handler.Setup(h => h.FetchAsync(It.IsAny<IReadOnlyList<ReadOnlyMemory<byte>>>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(Array.Empty<AssertionRecord>());
        _handler.Setup(h => h.PingAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<CancellationToken>())).ReturnsAsync(new PingResult(NodeId.NewId(), 0));
        _handler.Setup(h => h.GetLeavesAsync(It.IsAny<uint>(), It.IsAny<CancellationToken>())).ReturnsAsync(new LeavesPage([], false));
        var service = new RecordingService(_handler.Object);
        var context = new TestServerCallContext();

        await service.Gossip(new GossipRequest(), context);
        await service.ExchangeRoots(new RootExchangeRequest(), context);
        await service.FetchAssertions(new FetchRequest(), context);
        await service.Ping(new PingRequest(), context);
        await service.GetLeaves(new GetLeavesRequest(), context);

        Assert.That(service.Authorized, Is.EqualTo(new[] { SyncRpc.Gossip, SyncRpc.ExchangeRoots, SyncRpc.FetchAssertions, SyncRpc.Ping, SyncRpc.GetLeaves }));
    }

    [Test]
    public void RequestRejectedHook_HandlerRefuses_IsCalledWithMappedStatus()
    {
        _handler.Setup(h => h.ExchangeRootsAsync(It.IsAny<ReadOnlyMemory<byte>>(), It.IsAny<ulong>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new SyncRequestException(SyncStatusCode.InvalidArgument, "bad root"));
        var service = new RecordingService(_handler.Object);

        Assert.ThrowsAsync<RpcException>(async () => await service.ExchangeRoots(new RootExchangeRequest(), new TestServerCallContext()));

        Assert.That(service.Refusals, Is.EqualTo(new[] { (SyncRpc.ExchangeRoots, StatusCode.InvalidArgument) }));
    }

    /// <summary>A subclass that records every hook call.</summary>
    private sealed class RecordingService : SyncServiceImpl
    {
        public RecordingService(ISyncRequestHandler handler, Microsoft.Extensions.Logging.ILogger? logger = null)
            : base(new SyncServer(handler, logger: logger))
        {
        }

        public bool Refuse { get; init; }

        public List<SyncRpc> Authorized { get; } = [];

        public List<SyncRpc> Unexpected { get; } = [];

        public List<string> GossipRejections { get; } = [];

        public List<(SyncRpc, StatusCode)> Refusals { get; } = [];

        protected override ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context)
        {
            Authorized.Add(rpc);
            return Refuse ? throw new RpcException(new Status(StatusCode.PermissionDenied, "no")) : default;
        }

        protected override void OnGossipRejected(GossipMessage message, string reason, ServerCallContext context) => GossipRejections.Add(reason);

        protected override void OnRequestRejected(SyncRpc rpc, Status status, SyncRequestException exception, ServerCallContext context) =>
            Refusals.Add((rpc, status.StatusCode));

        protected override void OnUnexpectedException(SyncRpc rpc, Exception exception, ServerCallContext context) => Unexpected.Add(rpc);
    }

    /// <summary>Records the event id and the <c>Reason</c> of each entry.</summary>
    private sealed class EventLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<(int, string?)> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Events.Add((eventId.Id, (state as IReadOnlyList<KeyValuePair<string, object?>>)?.FirstOrDefault(v => v.Key == "Reason").Value?.ToString()));
    }
}
