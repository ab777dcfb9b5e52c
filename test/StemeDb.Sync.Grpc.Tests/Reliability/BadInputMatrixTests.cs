using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Grpc.Tests.Support;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc.Tests.Reliability;

/// <summary>
/// The bad-input matrix: one row per kind of malformed or hostile request, each sent over real Kestrel (HTTP/2,
/// loopback) to a node validating real rkyv archives. Every row checks the answer (status or rejection reason),
/// that the store is unchanged (count and Merkle root), and that the server still answers a Ping afterwards.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public sealed class BadInputMatrixTests
{
    private const int ServerMaxReceive = 1024 * 1024;
    private const int NodeMaxAssertionBytes = 64 * 1024;

    private static readonly byte[] GoodNodeId = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();

    private SyncNode _node = null!;
    private KestrelHost _host = null!;
    private GrpcChannel _channel = null!;
    private SyncService.SyncServiceClient _client = null!;

    /// <summary>The rows: name and the hostile call, which asserts the answer and returns how many assertions it may add.</summary>
    public static IEnumerable<TestCaseData> Rows()
    {
        // Gossip: field lengths.
        yield return Row("01 gossip hash 31 bytes", m => m.GossipRejected(m.Push(hash: new byte[31]), "assertion_hash must be 32 bytes"));
        yield return Row("02 gossip hash 33 bytes", m => m.GossipRejected(m.Push(hash: new byte[33]), "assertion_hash must be 32 bytes"));
        yield return Row("03 gossip hash empty", m => m.GossipRejected(m.Push(hash: []), "assertion_hash must be 32 bytes"));
        yield return Row("04 gossip hlc_node_id 15 bytes", m => m.GossipRejected(m.Push(nodeId: new byte[15]), "hlc_node_id must be 16 bytes"));
        yield return Row("05 gossip hlc_node_id 17 bytes", m => m.GossipRejected(m.Push(nodeId: new byte[17]), "hlc_node_id must be 16 bytes"));

        // Gossip: content.
        yield return Row("06 gossip hash does not match data", m => m.GossipRejected(m.Push(hash: AssertionHash.Compute("other"u8).ToArray()), "does not match"));
        yield return Row("07 gossip random bytes (hash matches)", m => m.GossipRejected(m.PushData([.. Enumerable.Range(0, 200).Select(i => (byte)(i * 37))]), "Invalid assertion content"));
        yield return Row("08 gossip truncated archive", m => m.GossipRejected(m.PushData(ValidArchive("truncated")[..^1]), "Invalid assertion content"));
        yield return Row("09 gossip invalid archive from the conformance corpus", m => m.GossipRejected(m.PushData(CorpusInvalidArchive()), "Invalid assertion content"));
        yield return Row("10 gossip empty data (hash of empty)", m => m.GossipRejected(m.PushData([]), "Invalid assertion content"));
        yield return Row("11 gossip archive over the node's size limit", m => m.GossipRejected(m.PushData(new byte[NodeMaxAssertionBytes + 1]), $"at most {NodeMaxAssertionBytes} bytes"));
        yield return Row("12 gossip empty message", m => m.GossipRejected(new GossipRequest(), "assertion_hash must be 32 bytes"));

        // Gossip: clocks.
        yield return Row("13 gossip HLC one hour ahead (beyond the drift bound), clock unchanged", m => m.FarFutureRejectedClockUnchanged(3_600_000));
        yield return Row("14 gossip HLC at u64::MAX, clock unchanged", m => m.FarFutureRejectedClockUnchanged(null));

        // Message sizes.
        yield return Row("15 gossip message over the server's receive limit", m => Fails(() => m.Client.GossipAsync(m.Push(data: new byte[ServerMaxReceive + 1])).ResponseAsync, StatusCode.ResourceExhausted, "exceeds the maximum"));
        yield return Row("16 fetch 1,001 hashes", m => Fails(() => m.Client.FetchAssertionsAsync(Fetch(1001, 32)).ResponseAsync, StatusCode.InvalidArgument, "at most 1000 hashes; got 1001"));
        yield return Row("17 fetch a 31-byte hash", m => Fails(() => m.Client.FetchAssertionsAsync(Fetch(1, 31)).ResponseAsync, StatusCode.InvalidArgument, "Fetch hash #0 is 31 bytes"));
        yield return Row("18 fetch 1,000 unknown hashes (at the limit)", async m =>
        {
            FetchResponse response = await m.Client.FetchAssertionsAsync(Fetch(1000, 32));
            Assert.That(response.Assertions, Is.Empty);
            return 0;
        });
        yield return Row("19 fetch empty message", async m =>
        {
            FetchResponse response = await m.Client.FetchAssertionsAsync(new FetchRequest());
            Assert.That(response.Assertions, Is.Empty);
            return 0;
        });
        yield return Row("20 exchange roots with a 31-byte root", m => Fails(() => m.Client.ExchangeRootsAsync(new RootExchangeRequest { MerkleRoot = ByteString.CopyFrom(new byte[31]) }).ResponseAsync, StatusCode.InvalidArgument, "merkle_root must be 32 bytes"));
        yield return Row("21 ping with a 17-byte node id", m => Fails(() => m.Client.PingAsync(new PingRequest { NodeId = ByteString.CopyFrom(new byte[17]) }).ResponseAsync, StatusCode.InvalidArgument, "node_id must be 16 bytes"));
        yield return Row("22 get leaves with max_leaves = u32::MAX (capped)", async m =>
        {
            GetLeavesResponse response = await m.Client.GetLeavesAsync(new GetLeavesRequest { MaxLeaves = uint.MaxValue });
            Assert.That(response.Leaves, Has.Count.LessThanOrEqualTo(SyncProtocol.MaxLeavesPerPage));
            return 0;
        });

        // Garbage on the wire.
        yield return Row("23 gossip body that is not protobuf", m => Fails(() => m.CallRawAsync("Gossip", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), StatusCode.Unknown, null));
        yield return Row("24 fetch body with a length past the end", m => Fails(() => m.CallRawAsync("FetchAssertions", [0x0A, 0x40, 0x01]), StatusCode.Unknown, null));
        yield return Row("25 unknown method", m => Fails(() => m.CallRawAsync("Replicate", [0x0A, 0x00]), StatusCode.Unimplemented, null));
        yield return Row("26 unauthenticated non-gRPC POST (text/plain garbage)", m => m.PostGarbageAsync("text/plain", [.. "DROP TABLE assertions;"u8], expectHttp: HttpStatusCode.UnsupportedMediaType, expectGrpc: null));
        yield return Row("27 gRPC frame claiming compression without grpc-encoding", m => m.PostGarbageAsync("application/grpc", [0x01, 0, 0, 0, 2, 0x0A, 0x00], expectHttp: HttpStatusCode.OK, expectGrpc: StatusCode.Internal));
        yield return Row("28 gRPC frame declaring 2 MiB (over the receive limit)", m => m.PostGarbageAsync("application/grpc", [0x00, 0x00, 0x20, 0x00, 0x00, 0x0A], expectHttp: HttpStatusCode.OK, expectGrpc: StatusCode.ResourceExhausted));
        yield return Row("28b gRPC frame declaring 4 GiB, body ends early", m => m.PostGarbageAsync("application/grpc", [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0A], expectHttp: HttpStatusCode.OK, expectGrpc: StatusCode.Unknown));

        // Floods and misbehaving connections.
        yield return Row("29 duplicate flood: 500 identical pushes at once (stored once)", m => m.DuplicateFloodAsync(500));
        yield return Row("30 peer hangs mid-message, then disconnects", m => m.HangThenDisconnectAsync());
        yield return Row("31 client cancels a call in flight", m => m.CancelInFlightAsync());

        // The extensions beyond v1.
        yield return Row("34 reconcile version 2", m => Fails(() => m.Client.ReconcileAsync(new ReconcileRequest { Version = 2, SliceFingerprints = ByteString.CopyFrom(new byte[3072]) }).ResponseAsync, StatusCode.InvalidArgument, "version 2 is not supported"));
        yield return Row("35 reconcile slice fingerprints one byte short", m => Fails(() => m.Client.ReconcileAsync(new ReconcileRequest { Version = 1, SliceFingerprints = ByteString.CopyFrom(new byte[3071]) }).ResponseAsync, StatusCode.InvalidArgument, "slice_fingerprints must be 3072 bytes"));
        yield return Row("36 reconcile retry asking 2^32-1 cells", m => Fails(() => m.Client.ReconcileAsync(new ReconcileRequest { Version = 1, Slices = ByteString.CopyFrom(Enumerable.Repeat((byte)0xFF, 16).ToArray()), Cells = uint.MaxValue }).ResponseAsync, StatusCode.InvalidArgument, "cells must be a positive multiple"));
        yield return Row("37 reconcile empty message", m => Fails(() => m.Client.ReconcileAsync(new ReconcileRequest()).ResponseAsync, StatusCode.InvalidArgument, "version 0 is not supported"));
        yield return Row("40 reconcile symbols version 2", m => Fails(() => m.SymbolsAsync(new V1.ReconcileSymbolsRequest { Version = 2, Count = 6 }), StatusCode.InvalidArgument, "version 2 is not supported"));
        yield return Row("41 reconcile symbols count 0", m => Fails(() => m.SymbolsAsync(new V1.ReconcileSymbolsRequest { Version = 1, Count = 0 }), StatusCode.InvalidArgument, "count must be 1 to 65536; got 0"));
        yield return Row("42 reconcile symbols count 65,537", m => Fails(() => m.SymbolsAsync(new V1.ReconcileSymbolsRequest { Version = 1, Count = 65_537 }), StatusCode.InvalidArgument, "count must be 1 to 65536; got 65537"));
        yield return Row("43 reconcile symbols past symbol 2^20", m => Fails(() => m.SymbolsAsync(new V1.ReconcileSymbolsRequest { Version = 1, Start = ulong.MaxValue - 3, Count = 6 }), StatusCode.InvalidArgument, "go past the limit"));
        yield return Row("44 reconcile symbols past the kept ones (not computed from every leaf)", m => Fails(() => m.SymbolsAsync(new V1.ReconcileSymbolsRequest { Version = 1, Start = 60_000, Count = 65_536 }), StatusCode.ResourceExhausted, "symbols 60000 + 65536 go past them"));
        yield return Row("45 reconcile symbols empty message", m => Fails(() => m.SymbolsAsync(new V1.ReconcileSymbolsRequest()), StatusCode.InvalidArgument, "version 0 is not supported"));
        yield return Row("46 reconcile symbols body that is not protobuf", m => Fails(() => m.CallRawAsync("ReconcileSymbols", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), StatusCode.Internal, null));
        yield return Row("47 stream assertions with a 31-byte cursor", m => Fails(() => m.StreamAsync(new V1.StreamAssertionsRequest { StartAfter = ByteString.CopyFrom(new byte[31]) }), StatusCode.InvalidArgument, "start_after must be 32 bytes (or empty); got 31"));
        yield return Row("48 stream assertions with a 33-byte cursor", m => Fails(() => m.StreamAsync(new V1.StreamAssertionsRequest { StartAfter = ByteString.CopyFrom(new byte[33]) }), StatusCode.InvalidArgument, "start_after must be 32 bytes (or empty); got 33"));
        yield return Row("49 stream assertions body that is not protobuf", m => Fails(() => m.CallRawAsync("StreamAssertions", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), StatusCode.Unknown, null));
        yield return Row("38 gossip batch of 1,001 pushes", m =>
        {
            var batch = new GossipBatchRequest();
            for (int i = 0; i < 1001; i++)
            {
                batch.Assertions.Add(m.BatchItem(ValidArchive($"batch-over-{i}")));
            }

            return Fails(() => m.Client.GossipBatchAsync(batch).ResponseAsync, StatusCode.InvalidArgument, "at most 1000 assertions; got 1001");
        });
        yield return Row("39 gossip batch mixing two valid pushes with hostile ones (each answered, only the valid stored)", m => m.MixedBatchAsync());

        // The per-peer guard.
        yield return Row("32 guard: rejected-request flood refuses the peer", m => m.GuardRejectionFloodAsync());
        yield return Row("33 guard: calls beyond the per-peer concurrency limit", m => m.GuardConcurrencyAsync());
    }

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _node = await StartNodeAsync();
        _host = await KestrelHost.StartAsync(_node.Handler, new KestrelHostOptions { MaxReceiveMessageSize = ServerMaxReceive });
        _channel = _host.CreateChannel();
        _client = new SyncService.SyncServiceClient(_channel);
        GossipResponse seeded = await _client.GossipAsync(PushOf(ValidArchive("seed"))); // a non-empty store to protect
        Assert.That(seeded.Accepted, Is.True, seeded.Error);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        await _node.DisposeAsync();
    }

    [TestCaseSource(nameof(Rows))]
    public async Task Matrix_HostileRequest_AnsweredStoreUnchangedServerServes(Func<BadInputMatrixTests, Task<int>> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        long countBefore = _node.Count;
        AssertionHash rootBefore = _node.Root;

        int allowedNew = await row(this);

        Assert.That(_node.Count, Is.EqualTo(countBefore + allowedNew), "the store holds exactly what it held (plus the row's valid assertions)");
        if (allowedNew == 0)
        {
            Assert.That(_node.Root, Is.EqualTo(rootBefore), "the Merkle root is unchanged");
        }

        PingResponse ping = await _client.PingAsync(new PingRequest { NodeId = ByteString.CopyFrom(GoodNodeId) });
        Assert.That(ping.NodeId.ToByteArray(), Is.EqualTo(_node.NodeId.ToArray()), "the server still serves");
        Assert.That(ping.AssertionCount, Is.EqualTo((ulong)_node.Count));
    }

    internal SyncService.SyncServiceClient Client => _client;

    private static TestCaseData Row(string name, Func<BadInputMatrixTests, Task<int>> row) => new TestCaseData(row).SetArgDisplayNames(name);

    private static async Task<SyncNode> StartNodeAsync() =>
        await TestNodes.StartAsync(new InMemoryAssertionStore(), options =>
        {
            options.ContentValidator = RkyvAssertionValidator.Instance;
            options.MaxAssertionBytes = NodeMaxAssertionBytes;
            options.MaxClockDrift = TimeSpan.FromSeconds(60);
        });

    private static byte[] ValidArchive(string subject) =>
        AssertionCodec.Encode(new Assertion(subject, "matrix:row", AssertionValue.FromInt(7), new HlcTimestamp(1_700_000_000_000, 0, new NodeId(GoodNodeId)), new NodeId(GoodNodeId)));

    private static byte[] CorpusInvalidArchive()
    {
        string? directory = TestContext.CurrentContext.TestDirectory;
        while (directory is not null && !Directory.Exists(Path.Combine(directory, "fuzz", "corpus")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        byte[] bytes = File.ReadAllBytes(Path.Combine(directory!, "fuzz", "corpus", "assertion", "assertion_email_000"));
        Assert.That(AssertionCodec.TryValidate(bytes, out _), Is.False, "the corpus file is an invalid archive");
        return bytes;
    }

    private static FetchRequest Fetch(int count, int length)
    {
        var request = new FetchRequest();
        for (int i = 0; i < count; i++)
        {
            byte[] hash = new byte[length];
            BitConverter.TryWriteBytes(hash, i + 1);
            request.Hashes.Add(ByteString.CopyFrom(hash));
        }

        return request;
    }

    private static GossipRequest PushOf(byte[] data, ulong? time = null) => new()
    {
        AssertionHash = ByteString.CopyFrom(AssertionHash.Compute(data).ToArray()),
        AssertionData = ByteString.CopyFrom(data),
        HlcTime = time ?? (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        HlcCounter = 0,
        HlcNodeId = ByteString.CopyFrom(GoodNodeId),
    };

    internal AssertionData BatchItem(byte[] data, byte[]? hash = null, byte[]? nodeId = null) => new()
    {
        Hash = ByteString.CopyFrom(hash ?? AssertionHash.Compute(data).ToArray()),
        Data = ByteString.CopyFrom(data),
        HlcTime = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        HlcNodeId = ByteString.CopyFrom(nodeId ?? GoodNodeId),
    };

    internal async Task<int> MixedBatchAsync()
    {
        var batch = new GossipBatchRequest();
        batch.Assertions.Add(BatchItem(ValidArchive("batch-valid-1")));
        batch.Assertions.Add(BatchItem(ValidArchive("batch-bad-hash"), hash: new byte[32]));
        batch.Assertions.Add(BatchItem(ValidArchive("batch-short-hash"), hash: new byte[31]));
        batch.Assertions.Add(BatchItem(ValidArchive("batch-short-node"), nodeId: new byte[15]));
        batch.Assertions.Add(BatchItem([.. Enumerable.Range(0, 64).Select(i => (byte)(i * 11))]));
        batch.Assertions.Add(new AssertionData());
        batch.Assertions.Add(BatchItem(ValidArchive("batch-valid-2")));

        GossipBatchResponse response = await _client.GossipBatchAsync(batch);

        Assert.That(response.Results.Select(r => r.Accepted), Is.EqualTo(new[] { true, false, false, false, false, false, true }));
        Assert.That(response.Results.Where(r => !r.Accepted).All(r => r.Error.Length > 0), Is.True, "every rejection carries its reason");
        Assert.That(response.Results[1].Error, Does.Contain("does not match"));
        Assert.That(response.Results[2].Error, Does.Contain("assertion_hash must be 32 bytes"));
        Assert.That(response.Results[3].Error, Does.Contain("hlc_node_id must be 16 bytes"));
        Assert.That(response.Results[4].Error, Does.Contain("Invalid assertion content"));
        return 2;
    }

    internal GossipRequest Push(byte[]? hash = null, byte[]? nodeId = null, byte[]? data = null)
    {
        GossipRequest request = PushOf(data ?? ValidArchive(Guid.NewGuid().ToString()));
        if (hash is not null)
        {
            request.AssertionHash = ByteString.CopyFrom(hash);
        }

        if (nodeId is not null)
        {
            request.HlcNodeId = ByteString.CopyFrom(nodeId);
        }

        return request;
    }

    internal GossipRequest PushData(byte[] data) => PushOf(data);

    internal async Task<int> GossipRejected(GossipRequest request, string reason)
    {
        GossipResponse response = await _client.GossipAsync(request);
        Assert.Multiple(() =>
        {
            Assert.That(response.Accepted, Is.False);
            Assert.That(response.Error, Does.Contain(reason));
        });
        return 0;
    }

    /// <summary>A StreamAssertions call read to its end.</summary>
    internal async Task StreamAsync(V1.StreamAssertionsRequest request)
    {
        using AsyncServerStreamingCall<V1.AssertionChunk> call = _client.StreamAssertions(request);
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
        }
    }

    /// <summary>One request on a ReconcileSymbols stream, and its answer read back.</summary>
    internal async Task SymbolsAsync(V1.ReconcileSymbolsRequest request)
    {
        using AsyncDuplexStreamingCall<V1.ReconcileSymbolsRequest, V1.ReconcileSymbolsResponse> call = _client.ReconcileSymbols();
        await call.RequestStream.WriteAsync(request);
        await call.ResponseStream.MoveNext(CancellationToken.None);
    }

    internal static async Task<int> Fails(Func<Task> call, StatusCode code, string? detail)
    {
        RpcException? ex = null;
        try
        {
            await call();
        }
        catch (RpcException caught)
        {
            ex = caught;
        }

        Assert.That(ex, Is.Not.Null, $"the call fails with {code}");
        Assert.That(ex!.StatusCode, Is.EqualTo(code), ex.Status.Detail);
        if (detail is not null)
        {
            Assert.That(ex.Status.Detail, Does.Contain(detail));
        }

        return 0;
    }

    internal async Task<int> FarFutureRejectedClockUnchanged(long? aheadMs)
    {
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        ulong time = aheadMs is long ahead ? now + (ulong)ahead : ulong.MaxValue;

        await GossipRejected(PushOf(ValidArchive(Guid.NewGuid().ToString()), time), "ahead of local wall time");

        // The clock did not move: a local assertion is stamped near the wall time, not at or after the pushed time.
        IngestResult local = await _node.IngestAsync(ValidArchive("local " + Guid.NewGuid()));
        Assert.That(local.Timestamp.Time, Is.LessThan(now + 60_000));
        return 1; // the local ingest
    }

    internal async Task<byte[]> CallRawAsync(string method, byte[] body)
    {
        var descriptor = new Method<byte[], byte[]>(
            MethodType.Unary, "stemedb.sync.v1.SyncService", method, Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        return await _channel.CreateCallInvoker().AsyncUnaryCall(descriptor, null, new CallOptions(), body);
    }

    internal async Task<int> PostGarbageAsync(string contentType, byte[] body, HttpStatusCode expectHttp, StatusCode? expectGrpc)
    {
        using var http = new HttpClient(_host.CreateHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_host.Address, "/stemedb.sync.v1.SyncService/Gossip"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("TE", "trailers");

        using HttpResponseMessage response = await http.SendAsync(request);
        _ = await response.Content.ReadAsByteArrayAsync();

        Assert.That(response.StatusCode, Is.EqualTo(expectHttp));
        if (expectGrpc is StatusCode code)
        {
            string? status = response.TrailingHeaders.TryGetValues("grpc-status", out IEnumerable<string>? t) ? t.First()
                : response.Headers.TryGetValues("grpc-status", out IEnumerable<string>? h) ? h.First() : null;
            Assert.That(status, Is.EqualTo(((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture)), "grpc-status");
        }

        return 0;
    }

    internal async Task<int> DuplicateFloodAsync(int copies)
    {
        GossipRequest push = PushOf(ValidArchive("duplicate " + Guid.NewGuid()));

        GossipResponse[] answers = await Task.WhenAll(Enumerable.Range(0, copies).Select(_ => _client.GossipAsync(push).ResponseAsync));

        Assert.That(answers.All(a => a.Accepted), Is.True, "every copy is answered accepted (stored or already held)");
        return 1;
    }

    internal async Task<int> HangThenDisconnectAsync()
    {
        using var http = new HttpClient(_host.CreateHandler());
        var hang = new HangingContent([0x00, 0, 0, 0, 100, 0x0A, 0x20, 1, 2, 3]); // declares 100 bytes, sends 5
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_host.Address, "/stemedb.sync.v1.SyncService/Gossip"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = hang,
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/grpc");
        using var disconnect = new CancellationTokenSource();

        Task<HttpResponseMessage> send = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, disconnect.Token);
        await hang.Sent;
        PingResponse whileHanging = await _client.PingAsync(new PingRequest()); // other callers are served meanwhile
        await disconnect.CancelAsync();

        Assert.That(async () => (await send).Dispose(), Throws.InstanceOf<OperationCanceledException>().Or.InstanceOf<HttpRequestException>());
        Assert.That(whileHanging.NodeId.ToByteArray(), Is.EqualTo(_node.NodeId.ToArray()));
        return 0;
    }

    internal async Task<int> CancelInFlightAsync()
    {
        var blocking = new BlockingHandler(_node.Handler);
        await using KestrelHost host = await KestrelHost.StartAsync(blocking);
        using GrpcChannel channel = host.CreateChannel();
        var client = new SyncService.SyncServiceClient(channel);
        using var cancel = new CancellationTokenSource();
        var request = new FetchRequest();
        request.Hashes.Add(ByteString.CopyFrom(BlockingHandler.BlockHash.ToArray()));

        Task<FetchResponse> call = client.FetchAssertionsAsync(request, cancellationToken: cancel.Token).ResponseAsync;
        await blocking.Entered;
        await cancel.CancelAsync();

        await Fails(() => call, StatusCode.Cancelled, null);
        await blocking.Cancelled; // the server saw the cancellation
        Assert.That((await client.PingAsync(new PingRequest())).AssertionCount, Is.EqualTo((ulong)_node.Count));
        return 0;
    }

    internal async Task<int> GuardRejectionFloodAsync()
    {
        var guard = new PeerGuard(new PeerGuardOptions { MaxRejectionsPerWindow = 20, RejectionWindow = TimeSpan.FromMinutes(1), RefusalDuration = TimeSpan.FromMinutes(1) });
        await using KestrelHost host = await KestrelHost.StartAsync(_node.Handler, new KestrelHostOptions
        {
            ServiceFactory = _ => new KeyedByHeaderService(_node.Handler, guard),
        });
        using GrpcChannel channel = host.CreateChannel();
        var client = new SyncService.SyncServiceClient(channel);
        var hostile = new Metadata { { KeyedByHeaderService.PeerHeader, "hostile" } };
        var honest = new Metadata { { KeyedByHeaderService.PeerHeader, "honest" } };

        int rejected = 0;
        for (int i = 0; i < 21; i++)
        {
            GossipResponse answer = await client.GossipAsync(Push(hash: new byte[31]), hostile);
            rejected += answer.Accepted ? 0 : 1;
        }

        await Fails(() => client.GossipAsync(Push(), hostile).ResponseAsync, StatusCode.ResourceExhausted, "Too many rejected requests");
        await Fails(() => client.PingAsync(new PingRequest(), hostile).ResponseAsync, StatusCode.ResourceExhausted, "refused for another");
        PingResponse honestPing = await client.PingAsync(new PingRequest(), honest);
        Assert.Multiple(() =>
        {
            Assert.That(rejected, Is.EqualTo(21));
            Assert.That(honestPing.NodeId.ToByteArray(), Is.EqualTo(_node.NodeId.ToArray()), "another peer is still served");
        });
        return 0;
    }

    internal async Task<int> GuardConcurrencyAsync()
    {
        var blocking = new BlockingHandler(_node.Handler);
        var guard = new PeerGuard(new PeerGuardOptions { MaxConcurrentCallsPerPeer = 1 });
        await using KestrelHost host = await KestrelHost.StartAsync(blocking, new KestrelHostOptions
        {
            ServiceFactory = _ => new KeyedByHeaderService(blocking, guard),
        });
        using GrpcChannel channel = host.CreateChannel();
        var client = new SyncService.SyncServiceClient(channel);
        var greedy = new Metadata { { KeyedByHeaderService.PeerHeader, "greedy" } };
        var request = new FetchRequest();
        request.Hashes.Add(ByteString.CopyFrom(BlockingHandler.BlockHash.ToArray()));
        using var cancel = new CancellationTokenSource();

        Task<FetchResponse> held = client.FetchAssertionsAsync(request, greedy, cancellationToken: cancel.Token).ResponseAsync;
        await blocking.Entered;
        await Fails(() => client.PingAsync(new PingRequest(), greedy).ResponseAsync, StatusCode.ResourceExhausted, "Too many concurrent calls");
        PingResponse other = await client.PingAsync(new PingRequest(), new Metadata { { KeyedByHeaderService.PeerHeader, "other" } });
        await cancel.CancelAsync();
        await Fails(() => held, StatusCode.Cancelled, null);
        await blocking.Cancelled;

        // The slot is released when the held call ends on the server.
        PingResponse? after = null;
        for (int attempt = 0; attempt < 100 && after is null; attempt++)
        {
            try
            {
                after = await client.PingAsync(new PingRequest(), greedy);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                await Task.Delay(20);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(other.NodeId.ToByteArray(), Is.EqualTo(_node.NodeId.ToArray()), "another peer is served");
            Assert.That(after, Is.Not.Null, "the peer is served again once its call ended");
        });
        return 0;
    }

    /// <summary>Keys the guard by a test header, so one test client can play several peers.</summary>
    private sealed class KeyedByHeaderService(ISyncRequestHandler handler, PeerGuard guard) : SyncServiceImpl(new SyncServer(handler, guard))
    {
        public const string PeerHeader = "x-test-peer";

        protected override string GetPeerKey(ServerCallContext context) =>
            context.RequestHeaders.GetValue(PeerHeader) ?? base.GetPeerKey(context);
    }

    /// <summary>Request content that sends a prefix and then never completes (until the request is cancelled).</summary>
    private sealed class HangingContent(byte[] prefix) : HttpContent
    {
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Sent => _sent.Task;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(prefix, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            _sent.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
