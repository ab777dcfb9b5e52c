using System;
using System.Linq;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>
/// The wire behaviour of docs/PROTOCOL.md, one test per case, over ASP.NET Core Kestrel on 127.0.0.1 (HTTP/2
/// cleartext). After every test the server must still answer a ping and accept a valid gossip.
/// </summary>
[TestFixture]
public class WireBehaviourTests
{
    private const int ServerMaxReceive = 256 * 1024;

    private InMemoryAssertionStore _store = null!;
    private SyncNode _node = null!;
    private KestrelHost _host = null!;
    private GrpcChannel _channel = null!;
    private SyncService.SyncServiceClient _client = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _store = new InMemoryAssertionStore();
        _node = await TestNodes.StartAsync(_store);
        _host = await KestrelHost.StartAsync(_node.Handler, new KestrelHostOptions { MaxReceiveMessageSize = ServerMaxReceive });
        _channel = _host.CreateChannel();
        _client = new SyncService.SyncServiceClient(_channel);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        await _node.DisposeAsync();
    }

    [TearDown]
    public async Task ServerStillServes()
    {
        PingResponse ping = await _client.PingAsync(new PingRequest());
        Assert.That(ping.NodeId.ToByteArray(), Is.EqualTo(_node.NodeId.ToArray()));
        GossipResponse gossip = await _client.GossipAsync(ToRequest(Records.Create(Guid.NewGuid().ToString())));
        Assert.That(gossip.Accepted, Is.True, gossip.Error);
    }

    [Test]
    public void FetchAssertions_MoreThan1000Hashes_InvalidArgument()
    {
        var request = new FetchRequest();
        request.Hashes.AddRange(Enumerable.Range(0, 1001).Select(i => ByteString.CopyFrom(AssertionHash.Compute(BitConverter.GetBytes(i)).ToArray())));

        var ex = Assert.ThrowsAsync<RpcException>(async () => await _client.FetchAssertionsAsync(request));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(ex.Status.Detail, Does.Contain("1000"));
    }

    [Test]
    public async Task FetchAssertions_Exactly1000Hashes_Succeeds()
    {
        var request = new FetchRequest();
        request.Hashes.AddRange(Enumerable.Range(0, 1000).Select(i => ByteString.CopyFrom(AssertionHash.Compute(BitConverter.GetBytes(i)).ToArray())));

        FetchResponse response = await _client.FetchAssertionsAsync(request);

        Assert.That(response.Assertions, Is.Empty);
    }

    [Test]
    public async Task FetchAssertions_UnknownHashes_AreSkipped()
    {
        AssertionRecord known = await _node.IngestAsync(Records.Create("known"));
        var request = new FetchRequest();
        request.Hashes.Add(ByteString.CopyFrom(AssertionHash.Compute("unknown-1"u8).ToArray()));
        request.Hashes.Add(ByteString.CopyFrom(known.Hash.ToArray()));
        request.Hashes.Add(ByteString.CopyFrom(AssertionHash.Compute("unknown-2"u8).ToArray()));

        FetchResponse response = await _client.FetchAssertionsAsync(request);

        AssertionData only = response.Assertions.Single();
        Assert.That(only.Hash.ToByteArray(), Is.EqualTo(known.Hash.ToArray()));
        Assert.That(only.Data.ToByteArray(), Is.EqualTo(known.Data.ToArray()));
        Assert.That(only.HlcTime, Is.EqualTo(known.Timestamp.Time));
        Assert.That(only.HlcNodeId.ToByteArray(), Is.EqualTo(known.Timestamp.NodeId.ToArray()));
    }

    [TestCase(0)]
    [TestCase(31)]
    [TestCase(33)]
    public void FetchAssertions_HashOfWrongLength_InvalidArgument(int length)
    {
        var request = new FetchRequest();
        request.Hashes.Add(ByteString.CopyFrom(new byte[length]));

        var ex = Assert.ThrowsAsync<RpcException>(async () => await _client.FetchAssertionsAsync(request));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }

    [TestCase(1)]
    [TestCase(31)]
    [TestCase(33)]
    public void ExchangeRoots_RootOfWrongLength_InvalidArgument(int length)
    {
        var ex = Assert.ThrowsAsync<RpcException>(async () =>
            await _client.ExchangeRootsAsync(new RootExchangeRequest { MerkleRoot = ByteString.CopyFrom(new byte[length]) }));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }

    [TestCase(1)]
    [TestCase(15)]
    [TestCase(17)]
    public void Ping_NodeIdOfWrongLength_InvalidArgument(int length)
    {
        var ex = Assert.ThrowsAsync<RpcException>(async () =>
            await _client.PingAsync(new PingRequest { NodeId = ByteString.CopyFrom(new byte[length]) }));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }

    [TestCase(31, 16, "assertion_hash")]
    [TestCase(33, 16, "assertion_hash")]
    [TestCase(0, 16, "assertion_hash")]
    [TestCase(32, 15, "hlc_node_id")]
    [TestCase(32, 17, "hlc_node_id")]
    public async Task Gossip_FieldOfWrongLength_NotAcceptedWithReasonAndNothingStored(int hashLength, int nodeIdLength, string field)
    {
        AssertionRecord record = Records.Create("lengths");
        GossipRequest request = ToRequest(record);
        request.AssertionHash = ByteString.CopyFrom(record.Hash.ToArray().Concat(new byte[8]).Take(hashLength).ToArray());
        request.HlcNodeId = ByteString.CopyFrom(new byte[nodeIdLength]);
        long before = _node.Count;

        GossipResponse response = await _client.GossipAsync(request);

        Assert.That(response.Accepted, Is.False);
        Assert.That(response.Error, Does.Contain(field));
        Assert.That(_node.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task Gossip_HashDataMismatch_NotAcceptedWithReasonAndNothingStored()
    {
        AssertionRecord record = Records.Create("mismatch");
        GossipRequest request = ToRequest(record);
        request.AssertionData = ByteString.CopyFrom(Records.Create("another valid archive").Data.Span);
        long before = _node.Count;

        GossipResponse response = await _client.GossipAsync(request);

        Assert.That(response.Accepted, Is.False);
        Assert.That(response.Error, Does.Contain("does not match"));
        Assert.That(_node.Count, Is.EqualTo(before));
        Assert.That(await _store.ContainsAsync(AssertionHash.Compute(request.AssertionData.Span)), Is.False);
    }

    [Test]
    public async Task Gossip_InvalidContent_NotAcceptedWithReasonAndNothingStored()
    {
        AssertionRecord record = Records.WithData("not an archive"u8.ToArray());
        long before = _node.Count;

        GossipResponse response = await _client.GossipAsync(ToRequest(record));

        Assert.That(response.Accepted, Is.False);
        Assert.That(response.Error, Does.Contain("invalid assertion content").IgnoreCase);
        Assert.That(_node.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task Gossip_HlcTooFarAhead_NotAcceptedWithReasonAndNothingStored()
    {
        ulong hourAhead = (ulong)DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        AssertionRecord record = Records.Create("future", time: hourAhead);
        long before = _node.Count;

        GossipResponse response = await _client.GossipAsync(ToRequest(record));

        Assert.That(response.Accepted, Is.False);
        Assert.That(response.Error, Does.Contain("ahead of local wall time"));
        Assert.That(_node.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task Gossip_ValidThenRepeated_AcceptedBothTimesStoredOnce()
    {
        AssertionRecord record = Records.Create("valid");
        long before = _node.Count;

        GossipResponse first = await _client.GossipAsync(ToRequest(record));
        GossipResponse second = await _client.GossipAsync(ToRequest(record));

        Assert.That(first.Accepted && second.Accepted, Is.True);
        Assert.That(first.Error, Is.Empty);
        Assert.That(_node.Count, Is.EqualTo(before + 1));
    }

    [Test]
    public async Task Gossip_OverServerSizeLimit_ResourceExhaustedAndNothingStored()
    {
        AssertionRecord record = Records.Large(ServerMaxReceive + 1);
        long before = _node.Count;
        using GrpcSyncPeer peer = _host.CreatePeer();

        var raw = Assert.ThrowsAsync<RpcException>(async () => await _client.GossipAsync(ToRequest(record)));
        var mapped = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.GossipAsync(record));

        Assert.That(raw!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(mapped!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
        Assert.That(_node.Count, Is.EqualTo(before));
        Assert.That(await _store.ContainsAsync(record.Hash), Is.False);
    }

    [Test]
    public async Task Fetch_AnswerOverClientSizeLimit_ResourceExhausted()
    {
        AssertionRecord big = await _node.IngestAsync(Records.Large(64 * 1024));
        using GrpcSyncPeer peer = _host.CreatePeer(new GrpcSyncPeerOptions { MaxReceiveMessageSize = 16 * 1024 });

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await peer.FetchAsync([big.Hash]));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.ResourceExhausted));
    }

    [Test]
    public async Task EmptyMessages_EveryRpc_AnswersPerProtocol()
    {
        long before = _node.Count;

        GossipResponse gossip = await _client.GossipAsync(new GossipRequest());
        RootExchangeResponse roots = await _client.ExchangeRootsAsync(new RootExchangeRequest());
        FetchResponse fetch = await _client.FetchAssertionsAsync(new FetchRequest());
        PingResponse ping = await _client.PingAsync(new PingRequest());
        GetLeavesResponse leaves = await _client.GetLeavesAsync(new GetLeavesRequest());

        Assert.Multiple(() =>
        {
            Assert.That(gossip.Accepted, Is.False);
            Assert.That(gossip.Error, Is.Not.Empty);
            Assert.That(_node.Count, Is.EqualTo(before));
            Assert.That(roots.MerkleRoot.Length, Is.EqualTo(32));
            Assert.That(roots.RootsMatch, Is.False);
            Assert.That(roots.AssertionCount, Is.EqualTo((ulong)before));
            Assert.That(fetch.Assertions, Is.Empty);
            Assert.That(ping.NodeId.Length, Is.EqualTo(16));
            Assert.That(ping.AssertionCount, Is.EqualTo((ulong)before));
            Assert.That(leaves.Leaves, Has.Count.EqualTo((int)before));
            Assert.That(leaves.Truncated, Is.False);
        });
    }

    [Test]
    public async Task ExchangeRoots_MatchingRoot_RootsMatch()
    {
        RootExchangeResponse first = await _client.ExchangeRootsAsync(new RootExchangeRequest());

        RootExchangeResponse second = await _client.ExchangeRootsAsync(new RootExchangeRequest { MerkleRoot = first.MerkleRoot, AssertionCount = first.AssertionCount });

        Assert.That(second.RootsMatch, Is.True);
    }

    [TestCase(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })] // a truncated varint tag
    [TestCase(new byte[] { 0x0A, 0x40, 0x01 })] // field 1 declares 64 bytes, 1 follows
    public void GarbageProtobuf_Gossip_UnknownAndNothingStored(byte[] body)
    {
        long before = _node.Count;

        var ex = Assert.ThrowsAsync<RpcException>(async () => await CallRawAsync("Gossip", body));

        // The ASP.NET Core gRPC stack fails to parse the message before the service runs.
        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Unknown));
        Assert.That(_node.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task WrongWireType_Gossip_FieldIsIgnoredAndPushIsRejected()
    {
        // Field 1 (bytes) sent with the varint wire type: protobuf parsers treat it as an unknown field, so the
        // push arrives without a hash and is answered accepted=false.
        long before = _node.Count;

        byte[] answer = await CallRawAsync("Gossip", [0x08, 0x01]);

        GossipResponse response = GossipResponse.Parser.ParseFrom(answer);
        Assert.That(response.Accepted, Is.False);
        Assert.That(response.Error, Does.Contain("assertion_hash"));
        Assert.That(_node.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task UnknownFields_Ping_AreIgnored()
    {
        // Field 99 (varint 7) is unknown to v1; field 1 carries a valid 16-byte node id.
        byte[] body = [0x0A, 16, .. NodeId.NewId().ToArray(), 0x98, 0x06, 7];

        byte[] answer = await CallRawAsync("Ping", body);

        PingResponse response = PingResponse.Parser.ParseFrom(answer);
        Assert.That(response.NodeId.ToByteArray(), Is.EqualTo(_node.NodeId.ToArray()));
    }

    private async Task<byte[]> CallRawAsync(string method, byte[] body)
    {
        var descriptor = new Method<byte[], byte[]>(
            MethodType.Unary, "stemedb.sync.v1.SyncService", method, Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        return await _channel.CreateCallInvoker().AsyncUnaryCall(descriptor, null, new CallOptions(), body);
    }

    internal static GossipRequest ToRequest(AssertionRecord record) => new()
    {
        AssertionHash = ByteString.CopyFrom(record.Hash.ToArray()),
        AssertionData = ByteString.CopyFrom(record.Data.Span),
        HlcTime = record.Timestamp.Time,
        HlcCounter = record.Timestamp.Counter,
        HlcNodeId = ByteString.CopyFrom(record.Timestamp.NodeId.ToArray()),
    };
}
