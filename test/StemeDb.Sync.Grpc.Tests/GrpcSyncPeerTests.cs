using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Moq;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests;

[TestFixture]
public class GrpcSyncPeerTests
{
    private Mock<SyncService.SyncServiceClient> _client = null!;

    [SetUp]
    public void SetUp() => _client = new Mock<SyncService.SyncServiceClient>(MockBehavior.Strict);

    private GrpcSyncPeer CreatePeer(GrpcSyncPeerOptions? options = null) => new(_client.Object, "test-peer", options, ownedChannel: null);

    private static ByteString Bytes(int length, byte fill = 1) => ByteString.CopyFrom(Enumerable.Repeat(fill, length).ToArray());

    [Test]
    public async Task GossipAsync_Record_SendsEveryFieldAndReturnsAcceptance()
    {
        AssertionRecord record = Records.Create("hello");
        GossipRequest? sent = null;
        _client.Setup(c => c.GossipAsync(It.IsAny<GossipRequest>(), It.IsAny<CallOptions>()))
            .Callback((GossipRequest r, CallOptions _) => sent = r)
            .Returns(Calls.Success(new GossipResponse { Accepted = true }));

        GossipResult result = await CreatePeer().GossipAsync(record);

        Assert.That(result, Is.EqualTo(GossipResult.Ok));
        Assert.That(sent, Is.Not.Null);
        Assert.That(sent!.AssertionHash.ToByteArray(), Is.EqualTo(record.Hash.ToArray()));
        Assert.That(sent.AssertionData.ToByteArray(), Is.EqualTo(record.Data.ToArray()));
        Assert.That(sent.HlcTime, Is.EqualTo(record.Timestamp.Time));
        Assert.That(sent.HlcCounter, Is.EqualTo(record.Timestamp.Counter));
        Assert.That(sent.HlcNodeId.ToByteArray(), Is.EqualTo(record.Timestamp.NodeId.ToArray()));
    }

    [Test]
    public async Task GossipAsync_Rejected_ReturnsReason()
    {
        _client.Setup(c => c.GossipAsync(It.IsAny<GossipRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Success(new GossipResponse { Accepted = false, Error = "bad hash" }));

        GossipResult result = await CreatePeer().GossipAsync(Records.Create("x"));

        Assert.That(result, Is.EqualTo(GossipResult.Rejected("bad hash")));
    }

    [Test]
    public async Task GossipAsync_RejectedWithoutReason_ReturnsNonEmptyReason()
    {
        _client.Setup(c => c.GossipAsync(It.IsAny<GossipRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Success(new GossipResponse { Accepted = false }));

        GossipResult result = await CreatePeer().GossipAsync(Records.Create("x"));

        Assert.That(result.Accepted, Is.False);
        Assert.That(result.Error, Is.Not.Empty);
    }

    [Test]
    public async Task Call_Deadline_IsNowPlusConfiguredDeadlineAndTokenIsPassed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        CallOptions seen = default;
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Callback((PingRequest _, CallOptions o) => seen = o)
            .Returns(Calls.Success(new PingResponse { NodeId = Bytes(16), AssertionCount = 3 }));
        using var cts = new CancellationTokenSource();

        PingResult result = await CreatePeer(new GrpcSyncPeerOptions { Deadline = TimeSpan.FromSeconds(7), TimeProvider = time })
            .PingAsync(NodeId.NewId(), cts.Token);

        Assert.That(seen.Deadline, Is.EqualTo(new DateTime(2030, 1, 2, 3, 4, 12, DateTimeKind.Utc)));
        Assert.That(seen.CancellationToken, Is.EqualTo(cts.Token));
        Assert.That(result.AssertionCount, Is.EqualTo(3UL));
    }

    [Test]
    public async Task Call_DefaultOptions_SendsNoDeadline()
    {
        CallOptions seen = default;
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Callback((PingRequest _, CallOptions o) => seen = o)
            .Returns(Calls.Success(new PingResponse { NodeId = Bytes(16) }));

        await CreatePeer().PingAsync(NodeId.NewId());

        Assert.That(new GrpcSyncPeerOptions().Deadline, Is.EqualTo(Timeout.InfiniteTimeSpan));
        Assert.That(seen.Deadline, Is.Null, "a node's PeerCallTimeout is the deadline; the peer adds none of its own");
    }

    [Test]
    public void Call_DeadlineExceededWithoutAConfiguredDeadline_MessageCarriesTheStatusDetail()
    {
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Failure<PingResponse>(StatusCode.DeadlineExceeded, "the server's own deadline"));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().PingAsync(NodeId.NewId()));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.DeadlineExceeded));
        Assert.That(ex.Message, Does.Contain("the server's own deadline").And.Not.Contain("-00:00"));
    }

    [Test]
    public async Task Call_InfiniteDeadline_SendsNoDeadline()
    {
        CallOptions seen = default;
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Callback((PingRequest _, CallOptions o) => seen = o)
            .Returns(Calls.Success(new PingResponse { NodeId = Bytes(16) }));

        await CreatePeer(new GrpcSyncPeerOptions { Deadline = Timeout.InfiniteTimeSpan }).PingAsync(NodeId.NewId());

        Assert.That(seen.Deadline, Is.Null);
    }

    [TestCase(StatusCode.InvalidArgument, SyncStatusCode.InvalidArgument)]
    [TestCase(StatusCode.DeadlineExceeded, SyncStatusCode.DeadlineExceeded)]
    [TestCase(StatusCode.PermissionDenied, SyncStatusCode.PermissionDenied)]
    [TestCase(StatusCode.ResourceExhausted, SyncStatusCode.ResourceExhausted)]
    [TestCase(StatusCode.Unimplemented, SyncStatusCode.Unimplemented)]
    [TestCase(StatusCode.Internal, SyncStatusCode.Internal)]
    [TestCase(StatusCode.Unavailable, SyncStatusCode.Unavailable)]
    [TestCase(StatusCode.Unauthenticated, SyncStatusCode.Unauthenticated)]
    [TestCase(StatusCode.Cancelled, SyncStatusCode.Unavailable)]
    [TestCase(StatusCode.Aborted, SyncStatusCode.Unavailable)]
    [TestCase(StatusCode.Unknown, SyncStatusCode.Internal)]
    [TestCase(StatusCode.DataLoss, SyncStatusCode.Internal)]
    [TestCase(StatusCode.OutOfRange, SyncStatusCode.InvalidArgument)]
    public void Call_RpcException_MapsToSyncPeerExceptionWithCode(StatusCode grpc, SyncStatusCode expected)
    {
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Failure<PingResponse>(grpc, "the detail"));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().PingAsync(NodeId.NewId()));

        Assert.That(ex!.Code, Is.EqualTo(expected));
        Assert.That(ex.Message, Does.Contain("test-peer").And.Contain("Ping"));
        Assert.That(ex.InnerException, Is.InstanceOf<RpcException>());
        if (grpc != StatusCode.DeadlineExceeded)
        {
            Assert.That(ex.Message, Does.Contain("the detail"));
        }
    }

    [Test]
    public void Call_TokenCancelledDuringCall_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Callback(() => cts.Cancel())
            .Returns(Calls.Failure<PingResponse>(StatusCode.Cancelled));

        var ex = Assert.CatchAsync<OperationCanceledException>(async () => await CreatePeer().PingAsync(NodeId.NewId(), cts.Token));

        Assert.That(ex!.CancellationToken, Is.EqualTo(cts.Token));
    }

    [Test]
    public void Call_TokenAlreadyCancelled_ThrowsWithoutCalling()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.CatchAsync<OperationCanceledException>(async () => await CreatePeer().PingAsync(NodeId.NewId(), cts.Token));
        _client.VerifyNoOtherCalls();
    }

    [Test]
    public void Call_InternalCausedByConnectionFailure_MapsToUnavailable()
    {
        var status = new Status(StatusCode.Internal, "Error starting gRPC call.", new System.Net.Http.HttpRequestException("TLS failed"));
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Throwing<PingResponse>(new RpcException(status)));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().PingAsync(NodeId.NewId()));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }

    [Test]
    public void Call_NonRpcFailure_MapsToUnavailable()
    {
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Throwing<PingResponse>(new InvalidOperationException("boom")));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().PingAsync(NodeId.NewId()));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.Unavailable));
    }

    [TestCase(0)]
    [TestCase(15)]
    [TestCase(17)]
    public void PingAsync_NodeIdOfWrongLength_ThrowsInvalidResponse(int length)
    {
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Success(new PingResponse { NodeId = Bytes(length) }));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().PingAsync(NodeId.NewId()));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public async Task ExchangeRootsAsync_ValidAnswer_ReturnsRemoteSummary()
    {
        AssertionHash root = AssertionHash.Compute("r"u8);
        RootExchangeRequest? sent = null;
        _client.Setup(c => c.ExchangeRootsAsync(It.IsAny<RootExchangeRequest>(), It.IsAny<CallOptions>()))
            .Callback((RootExchangeRequest r, CallOptions _) => sent = r)
            .Returns(Calls.Success(new RootExchangeResponse { MerkleRoot = ByteString.CopyFrom(root.ToArray()), AssertionCount = 9, RootsMatch = true }));

        RootExchangeResult result = await CreatePeer().ExchangeRootsAsync(new RootSummary(AssertionHash.MaxValue, 4));

        Assert.That(result, Is.EqualTo(new RootExchangeResult(new RootSummary(root, 9), true)));
        Assert.That(sent!.MerkleRoot.ToByteArray(), Is.EqualTo(AssertionHash.MaxValue.ToArray()));
        Assert.That(sent.AssertionCount, Is.EqualTo(4UL));
    }

    [Test]
    public async Task ExchangeRootsAsync_NoRoot_ReturnsZeroHashThatMatchesNoRoot()
    {
        _client.Setup(c => c.ExchangeRootsAsync(It.IsAny<RootExchangeRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Success(new RootExchangeResponse { AssertionCount = 3 }));

        RootExchangeResult result = await CreatePeer().ExchangeRootsAsync(new RootSummary(SyncProtocol.ComputeRoot([]), 0));

        Assert.That(result.Remote, Is.EqualTo(new RootSummary(default, 3)));
        Assert.That(result.Remote.Root, Is.Not.EqualTo(SyncProtocol.ComputeRoot([])), "not even the empty set's root");
    }

    [TestCase(1)]
    [TestCase(31)]
    [TestCase(33)]
    public void ExchangeRootsAsync_RootOfWrongLength_ThrowsInvalidResponse(int length)
    {
        _client.Setup(c => c.ExchangeRootsAsync(It.IsAny<RootExchangeRequest>(), It.IsAny<CallOptions>()))
            .Returns(Calls.Success(new RootExchangeResponse { MerkleRoot = Bytes(length) }));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().ExchangeRootsAsync(default));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public async Task GetLeavesAsync_AscendingLeaves_ReturnsPage()
    {
        var response = new GetLeavesResponse { Truncated = true };
        response.Leaves.Add(Bytes(32, 1));
        response.Leaves.Add(Bytes(32, 2));
        GetLeavesRequest? sent = null;
        _client.Setup(c => c.GetLeavesAsync(It.IsAny<GetLeavesRequest>(), It.IsAny<CallOptions>()))
            .Callback((GetLeavesRequest r, CallOptions _) => sent = r)
            .Returns(Calls.Success(response));

        LeavesPage page = await CreatePeer().GetLeavesAsync(2);

        Assert.That(sent!.MaxLeaves, Is.EqualTo(2u));
        Assert.That(page.Truncated, Is.True);
        Assert.That(page.Leaves.Select(l => l.ToArray()[0]), Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public async Task GetLeavesAsync_LeavesOutOfOrderOrDuplicated_ReturnedAsSent()
    {
        // v1 promises no order; the engine sorts a v1 page or rejects a disordered cursor page (V1LeafOrderTests).
        var response = new GetLeavesResponse();
        response.Leaves.Add(Bytes(32, 3));
        response.Leaves.Add(Bytes(32, 2));
        response.Leaves.Add(Bytes(32, 2));
        _client.Setup(c => c.GetLeavesAsync(It.IsAny<GetLeavesRequest>(), It.IsAny<CallOptions>())).Returns(Calls.Success(response));

        LeavesPage page = await CreatePeer().GetLeavesAsync(0);

        Assert.That(page.Leaves.Select(l => l.ToArray()[0]), Is.EqualTo(new byte[] { 3, 2, 2 }));
    }

    [Test]
    public void GetLeavesAsync_LeafOfWrongLength_ThrowsInvalidResponse()
    {
        var response = new GetLeavesResponse();
        response.Leaves.Add(Bytes(31));
        _client.Setup(c => c.GetLeavesAsync(It.IsAny<GetLeavesRequest>(), It.IsAny<CallOptions>())).Returns(Calls.Success(response));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().GetLeavesAsync(0));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public async Task FetchAsync_KnownHashes_ReturnsRecordsWithTimestamps()
    {
        AssertionRecord a = Records.Create("a");
        AssertionRecord b = Records.Create("b");
        var response = new FetchResponse();
        response.Assertions.Add(ToData(a));
        FetchRequest? sent = null;
        _client.Setup(c => c.FetchAssertionsAsync(It.IsAny<FetchRequest>(), It.IsAny<CallOptions>()))
            .Callback((FetchRequest r, CallOptions _) => sent = r)
            .Returns(Calls.Success(response));

        var records = await CreatePeer().FetchAsync([a.Hash, b.Hash]);

        Assert.That(sent!.Hashes.Select(h => h.ToByteArray()), Is.EqualTo(new[] { a.Hash.ToArray(), b.Hash.ToArray() }));
        Assert.That(records, Has.Count.EqualTo(1));
        Assert.That(records[0].Hash, Is.EqualTo(a.Hash));
        Assert.That(records[0].Data.ToArray(), Is.EqualTo(a.Data.ToArray()));
        Assert.That(records[0].Timestamp, Is.EqualTo(a.Timestamp));
    }

    [Test]
    public async Task FetchAsync_NoHashes_ReturnsEmptyWithoutCalling()
    {
        var records = await CreatePeer().FetchAsync([]);

        Assert.That(records, Is.Empty);
        _client.VerifyNoOtherCalls();
    }

    [Test]
    public void FetchAsync_MoreThanLimit_ThrowsArgumentExceptionWithoutCalling()
    {
        AssertionHash[] hashes = Enumerable.Range(0, SyncProtocol.MaxFetchHashes + 1)
            .Select(i => AssertionHash.Compute(BitConverter.GetBytes(i))).ToArray();

        Assert.ThrowsAsync<ArgumentException>(async () => await CreatePeer().FetchAsync(hashes));
        _client.VerifyNoOtherCalls();
    }

    [Test]
    public void FetchAsync_WrongNodeIdLength_ThrowsInvalidResponse()
    {
        AssertionRecord a = Records.Create("a");
        AssertionData data = ToData(a);
        data.HlcNodeId = Bytes(3);
        var response = new FetchResponse();
        response.Assertions.Add(data);
        _client.Setup(c => c.FetchAssertionsAsync(It.IsAny<FetchRequest>(), It.IsAny<CallOptions>())).Returns(Calls.Success(response));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await CreatePeer().FetchAsync([a.Hash]));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse));
    }

    [Test]
    public void Options_InvalidValues_ThrowClearErrors()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => CreatePeer(new GrpcSyncPeerOptions { Deadline = TimeSpan.Zero }));
            Assert.Throws<ArgumentOutOfRangeException>(() => CreatePeer(new GrpcSyncPeerOptions { Deadline = TimeSpan.FromSeconds(-1) }));
            Assert.Throws<ArgumentOutOfRangeException>(() => CreatePeer(new GrpcSyncPeerOptions { MaxReceiveMessageSize = 0 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => CreatePeer(new GrpcSyncPeerOptions { MaxSendMessageSize = -5 }));
            Assert.Throws<ArgumentException>(() => CreatePeer(new GrpcSyncPeerOptions { TimeProvider = null! }));
        });
    }

    [Test]
    public void Create_RelativeOrNonHttpAddress_Throws()
    {
        Assert.Throws<ArgumentException>(() => GrpcSyncPeer.Create(new Uri("/relative", UriKind.Relative)));
        Assert.Throws<ArgumentException>(() => GrpcSyncPeer.Create(new Uri("ftp://127.0.0.1:1")));
    }

    [Test]
    public void Options_ChangedAfterCreation_DoNotAffectPeer()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new GrpcSyncPeerOptions { Deadline = TimeSpan.FromSeconds(1), TimeProvider = time };
        CallOptions seen = default;
        _client.Setup(c => c.PingAsync(It.IsAny<PingRequest>(), It.IsAny<CallOptions>()))
            .Callback((PingRequest _, CallOptions o) => seen = o)
            .Returns(Calls.Success(new PingResponse { NodeId = Bytes(16) }));
        GrpcSyncPeer peer = CreatePeer(options);

        options.Deadline = TimeSpan.FromHours(1);
        Assert.DoesNotThrowAsync(async () => await peer.PingAsync(NodeId.NewId()));

        Assert.That(seen.Deadline, Is.EqualTo(new DateTime(2030, 1, 1, 0, 0, 1, DateTimeKind.Utc)));
    }

    private static AssertionData ToData(AssertionRecord record) => new()
    {
        Hash = ByteString.CopyFrom(record.Hash.ToArray()),
        Data = ByteString.CopyFrom(record.Data.Span),
        HlcTime = record.Timestamp.Time,
        HlcCounter = record.Timestamp.Counter,
        HlcNodeId = ByteString.CopyFrom(record.Timestamp.NodeId.ToArray()),
    };
}
