using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StemeDb.Sync.Grpc.Internal;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc;

/// <summary>
/// A remote node reached over gRPC (<c>stemedb.sync.v1.SyncService</c>), as the engine's <see cref="ISyncPeer"/>.
/// </summary>
/// <remarks>
/// <para>
/// A node's <see cref="SyncNodeOptions.PeerCallTimeout"/> is the deadline of every call it makes through this peer: the
/// node cancels the token it passes, which ends the call (the server sees the cancellation). A call also carries the
/// gRPC deadline from <see cref="GrpcSyncPeerOptions.Deadline"/> when one is set (by default none), for callers
/// without a node. Failures surface as
/// <see cref="SyncPeerException"/>: a gRPC status maps to the <see cref="SyncStatusCode"/> of the same name
/// (an unreachable peer, a failed TLS handshake or a dropped connection is <see cref="SyncStatusCode.Unavailable"/>), and an answer
/// that cannot be mapped (a hash that is not 32 bytes, a node id that is not 16) is
/// <see cref="SyncStatusCode.InvalidResponse"/>. The peer only maps messages: what an answer means (more items than
/// asked, records nobody asked for, leaf order, a result per pushed assertion) is checked by the node that calls it,
/// whatever the transport. Cancelling the token throws <see cref="OperationCanceledException"/>.
/// </para>
/// <para>Thread-safe: one instance serves any number of concurrent calls over its channel.</para>
/// </remarks>
public sealed partial class GrpcSyncPeer : ISyncPeer, IDisposable
{
    private readonly SyncService.SyncServiceClient _client;
    private readonly GrpcSyncPeerOptions _options;
    private readonly IDisposable? _ownedChannel;
    private readonly Metadata? _headers;

    /// <summary>Creates a peer over an existing channel, which the caller keeps owning.</summary>
    /// <param name="channel">The channel to the remote node.</param>
    /// <param name="options">Call settings; the channel-related ones are ignored here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="channel"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public GrpcSyncPeer(GrpcChannel channel, GrpcSyncPeerOptions? options = null)
        : this(new SyncService.SyncServiceClient(ThrowIfNull(channel)), channel.Target, options, ownedChannel: null)
    {
    }

    internal GrpcSyncPeer(SyncService.SyncServiceClient client, string name, GrpcSyncPeerOptions? options, IDisposable? ownedChannel)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(name);
        _options = (options ?? new GrpcSyncPeerOptions()).ValidateAndCopy();
        if (_options.Headers.Count > 0)
        {
            _headers = new Metadata();
            foreach (KeyValuePair<string, string> header in _options.Headers)
            {
                _headers.Add(header.Key, header.Value);
            }
        }
        _client = client;
        Name = name;
        _ownedChannel = ownedChannel;
    }

    /// <summary>Creates a peer with its own channel to <paramref name="address"/>; disposing the peer disposes the channel.</summary>
    /// <param name="address">The node's address, e.g. <c>http://127.0.0.1:5000</c> (HTTP/2 cleartext) or <c>https://…</c>.</param>
    /// <param name="options">Call and channel settings (deadline, message sizes, HTTP handler for TLS).</param>
    /// <returns>The peer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The address is not absolute http/https, or an option is out of range.</exception>
    public static GrpcSyncPeer Create(Uri address, GrpcSyncPeerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The peer address must be an absolute http:// or https:// URI; got '{address}'.", nameof(address));
        }

        GrpcSyncPeerOptions settings = (options ?? new GrpcSyncPeerOptions()).ValidateAndCopy();
        var channelOptions = new GrpcChannelOptions
        {
            MaxSendMessageSize = settings.MaxSendMessageSize,
            HttpHandler = settings.HttpHandler,
            DisposeHttpClient = true,
        };
        if (settings.MaxReceiveMessageSize is int maxReceive)
        {
            channelOptions.MaxReceiveMessageSize = maxReceive; // otherwise the gRPC default (4 MiB) stays
        }

        GrpcChannel channel = GrpcChannel.ForAddress(address, channelOptions);
        return new GrpcSyncPeer(new SyncService.SyncServiceClient(channel), channel.Target, settings, channel);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        // Not an async method: the call's own state machine (CallAsync) is the only one on the hot path.
        if (record is null)
        {
            return ValueTask.FromException<GossipResult>(new ArgumentNullException(nameof(record)));
        }

        GossipRequest request = WireMapping.ToGossipRequest(record);

        return CallAsync(
            SyncRpc.Gossip,
            static (c, r, o) => c.GossipAsync(r, o),
            request,
            static response => response.Accepted
                ? GossipResult.Ok
                : GossipResult.Rejected(response.Error.Length == 0 ? "The peer rejected the assertion without a reason." : response.Error),
            cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default)
    {
        var request = new RootExchangeRequest
        {
            MerkleRoot = WireMapping.Bytes(local.Root),
            AssertionCount = WireMapping.Count(local.Count),
        };

        RootExchangeResponse response = await CallAsync(
            SyncRpc.ExchangeRoots, static (c, r, o) => c.ExchangeRootsAsync(r, o), request, cancellationToken).ConfigureAwait(false);
        // An empty root (a v1 node may send none, e.g. for its empty tree) is the all-zero hash: no root this library
        // computes, so it never matches; the engine then compares leaves.
        AssertionHash root = default;
        if (!response.MerkleRoot.IsEmpty && !AssertionHash.TryCreate(response.MerkleRoot.Span, out root))
        {
            throw InvalidResponse(SyncRpc.ExchangeRoots, $"the Merkle root is {response.MerkleRoot.Length} bytes, not {SyncProtocol.HashLength} (or none)");
        }

        return new RootExchangeResult(new RootSummary(root, Count(SyncRpc.ExchangeRoots, response.AssertionCount)), response.RootsMatch);
    }

    /// <inheritdoc />
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The cursor overload is a wire extension; both keep the usual optional CancellationToken.")]
    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        GetLeavesAsync(maxLeaves, null, cancellationToken);

    /// <inheritdoc />
    /// <remarks>A v1 server ignores the cursor and answers from its first leaf; the engine detects that.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The cursor overload is a wire extension; both keep the usual optional CancellationToken.")]
    public async ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default)
    {
        var request = new GetLeavesRequest { MaxLeaves = maxLeaves };
        if (startAfter is { } cursor)
        {
            request.StartAfter = WireMapping.Bytes(cursor);
        }

        GetLeavesResponse response = await CallAsync(
            SyncRpc.GetLeaves, static (c, r, o) => c.GetLeavesAsync(r, o), request, cancellationToken).ConfigureAwait(false);

        var leaves = new AssertionHash[response.Leaves.Count];
        for (int i = 0; i < leaves.Length; i++)
        {
            ByteString bytes = response.Leaves[i];
            if (!AssertionHash.TryCreate(bytes.Span, out leaves[i]))
            {
                throw InvalidResponse(SyncRpc.GetLeaves, $"leaf {i} is {bytes.Length} bytes, not {SyncProtocol.HashLength}");
            }
        }

        return new LeavesPage(leaves, response.Truncated);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">More than <see cref="SyncProtocol.MaxFetchHashes"/> hashes.</exception>
    public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        if (hashes.Count > SyncProtocol.MaxFetchHashes)
        {
            throw new ArgumentException($"A fetch carries at most {SyncProtocol.MaxFetchHashes} hashes; got {hashes.Count}.", nameof(hashes));
        }

        if (hashes.Count == 0)
        {
            return Array.Empty<AssertionRecord>();
        }

        var request = new FetchRequest();
        for (int i = 0; i < hashes.Count; i++)
        {
            request.Hashes.Add(WireMapping.Bytes(hashes[i]));
        }

        FetchResponse response = await CallAsync(
            SyncRpc.FetchAssertions, static (c, r, o) => c.FetchAssertionsAsync(r, o), request, cancellationToken).ConfigureAwait(false);
        return ToRecords(response.Assertions);
    }

    /// <summary>The records of a fetch answer, their lengths checked; the engine verifies the rest.</summary>
    private AssertionRecord[] ToRecords(IReadOnlyList<AssertionData> answered)
    {
        var records = new AssertionRecord[answered.Count];
        for (int i = 0; i < records.Length; i++)
        {
            AssertionData item = answered[i];
            if (!AssertionHash.TryCreate(item.Hash.Span, out AssertionHash hash))
            {
                throw InvalidResponse(SyncRpc.FetchAssertions, $"assertion {i} has a {item.Hash.Length}-byte hash, not {SyncProtocol.HashLength}");
            }

            // The HLC fields are an extension: a v1 node sends only hash and data, and the record then carries
            // HlcTimestamp.None for the engine to stamp. A node id that is present must be whole.
            HlcTimestamp timestamp = HlcTimestamp.None;
            if (!item.HlcNodeId.IsEmpty)
            {
                if (!NodeId.TryCreate(item.HlcNodeId.Span, out NodeId nodeId))
                {
                    throw InvalidResponse(SyncRpc.FetchAssertions, $"assertion {i} has a {item.HlcNodeId.Length}-byte HLC node id, not {SyncProtocol.NodeIdLength} (or none)");
                }

                timestamp = new HlcTimestamp(item.HlcTime, item.HlcCounter, nodeId);
            }

            // Data and hash are verified by the engine before anything is stored.
            records[i] = new AssertionRecord(hash, item.Data.Memory, timestamp);
        }

        return records;
    }

    /// <summary>One <c>Broadcast</c> message; a v1 server answers <c>UNIMPLEMENTED</c>.</summary>
    async ValueTask<BroadcastResponse> ISyncPeer.BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken)
    {
        var message = new V1.BroadcastRequest
        {
            SenderNodeId = UnsafeByteOperations.UnsafeWrap(request.SenderNodeId),
            Eager = request.Eager,
        };
        foreach (GossipMessage item in request.Assertions)
        {
            message.Assertions.Add(WireMapping.ToData(item));
        }

        foreach (ReadOnlyMemory<byte> hash in request.Announced)
        {
            message.Announced.Add(UnsafeByteOperations.UnsafeWrap(hash));
        }

        V1.BroadcastResponse response = await CallAsync(
            SyncRpc.Broadcast, static (c, r, o) => c.BroadcastAsync(r, o), message, cancellationToken).ConfigureAwait(false);
        var results = new GossipResult[response.Results.Count];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = ToResult(response.Results[i]);
        }

        var want = new ReadOnlyMemory<byte>[response.Want.Count];
        for (int i = 0; i < want.Length; i++)
        {
            want[i] = response.Want[i].Memory;
        }

        return new BroadcastResponse(response.NodeId.Memory, results, want, response.Prune, response.Graft);
    }

    private static GossipResult ToResult(GossipResponse item) =>
        item.Accepted
            ? GossipResult.Ok
            : GossipResult.Rejected(item.Error.Length == 0 ? "The peer rejected the assertion without a reason." : item.Error);

    /// <inheritdoc />
    public async ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default)
    {
        var request = new PingRequest { NodeId = WireMapping.Bytes(self) };
        PingResponse response = await CallAsync(
            SyncRpc.Ping, static (c, r, o) => c.PingAsync(r, o), request, cancellationToken).ConfigureAwait(false);
        if (!NodeId.TryCreate(response.NodeId.Span, out NodeId nodeId))
        {
            throw InvalidResponse(SyncRpc.Ping, $"the node id is {response.NodeId.Length} bytes, not {SyncProtocol.NodeIdLength}");
        }

        return new PingResult(nodeId, Count(SyncRpc.Ping, response.AssertionCount));
    }

    /// <summary>
    /// Asks the node for its sync status (the <c>GetStatus</c> extension, docs/PROTOCOL.md): its count and root, and per peer
    /// how its last anti-entropy pass went and what each side lacks. For operators and tools (<c>stemedb-sync status</c>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The node's status; its <see cref="SyncNodeStatus.Peers"/> hold at most 1,000 peers.</returns>
    /// <exception cref="SyncPeerException">The call failed: <see cref="SyncStatusCode.Unimplemented"/> from a v1 node,
    /// <see cref="SyncStatusCode.PermissionDenied"/> or <see cref="SyncStatusCode.Unauthenticated"/> when refused,
    /// <see cref="SyncStatusCode.InvalidResponse"/> for an answer outside the protocol.</exception>
    public async Task<SyncNodeStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        GetStatusResponse response = await CallAsync(
            SyncRpc.GetStatus, static (c, r, o) => c.GetStatusAsync(r, o), new GetStatusRequest(), cancellationToken).ConfigureAwait(false);
        (SyncNodeStatus? status, _, string? problem) = WireMapping.FromWire(response);
        return status ?? throw InvalidResponse(SyncRpc.GetStatus, problem!);
    }

    /// <inheritdoc />
    /// <remarks>A v1 server answers <c>UNIMPLEMENTED</c>: <see cref="SyncPeerException"/> with <see cref="SyncStatusCode.Unimplemented"/>.</remarks>
    async ValueTask<ReconcileRoundResponse> ISyncPeer.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken)
    {
        var message = new ReconcileRequest
        {
            Version = request.Version,
            AssertionCount = request.AssertionCount,
            SliceFingerprints = UnsafeByteOperations.UnsafeWrap(request.SliceFingerprints),
            Slices = UnsafeByteOperations.UnsafeWrap(request.Slices),
            Cells = request.Cells,
            Salt = request.Salt,
        };
        ReconcileResponse response = await CallAsync(
            SyncRpc.Reconcile, static (c, r, o) => c.ReconcileAsync(r, o), message, cancellationToken).ConfigureAwait(false);
        return new ReconcileRoundResponse(
            response.Identical,
            response.AssertionCount,
            response.Slices.Memory,
            response.EstimatedDifferences,
            response.Salt,
            response.Table.Memory,
            response.TooManyDifferences);
    }

    /// <inheritdoc />
    /// <remarks>A v1 server answers <c>UNIMPLEMENTED</c>: <see cref="SyncPeerException"/> with <see cref="SyncStatusCode.Unimplemented"/>.</remarks>
    /// <exception cref="ArgumentException">More than <see cref="SyncProtocol.MaxGossipBatch"/> assertions.</exception>
    public async ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count > SyncProtocol.MaxGossipBatch)
        {
            throw new ArgumentException($"A gossip batch carries at most {SyncProtocol.MaxGossipBatch} assertions; got {records.Count}.", nameof(records));
        }

        var request = new GossipBatchRequest();
        foreach (AssertionRecord record in records)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            request.Assertions.Add(WireMapping.ToData(record));
        }

        GossipBatchResponse response = await CallAsync(
            SyncRpc.GossipBatch, static (c, r, o) => c.GossipBatchAsync(r, o), request, cancellationToken).ConfigureAwait(false);
        var results = new GossipResult[response.Results.Count];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = ToResult(response.Results[i]);
        }

        return results;
    }

    /// <summary>Disposes the channel if this peer created it; a channel passed in is left open.</summary>
    public void Dispose() => _ownedChannel?.Dispose();

    /// <inheritdoc />
    public override string ToString() => Name;

    private ValueTask<TResponse> CallAsync<TRequest, TResponse>(
        SyncRpc rpc,
        Func<SyncService.SyncServiceClient, TRequest, CallOptions, AsyncUnaryCall<TResponse>> invoke,
        TRequest request,
        CancellationToken cancellationToken) =>
        CallAsync(rpc, invoke, request, static response => response, cancellationToken);

    // One call: deadline, cancellation and every failure mapped to SyncPeerException; map turns the answer into the
    // result, after (outside) the error mapping. One state machine per call, whatever the RPC.
    private async ValueTask<TResult> CallAsync<TRequest, TResponse, TResult>(
        SyncRpc rpc,
        Func<SyncService.SyncServiceClient, TRequest, CallOptions, AsyncUnaryCall<TResponse>> invoke,
        TRequest request,
        Func<TResponse, TResult> map,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TResponse response;
        try
        {
            using AsyncUnaryCall<TResponse> call = invoke(_client, request, Options(cancellationToken));
            response = await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(rpc, ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }

        return map(response);
    }

    /// <summary>The options of one call: the headers, the deadline when one is set, and the caller's token.</summary>
    private CallOptions Options(CancellationToken cancellationToken)
    {
        DateTime? deadline = _options.Deadline == Timeout.InfiniteTimeSpan
            ? null
            : _options.TimeProvider.GetUtcNow().UtcDateTime + _options.Deadline;
        return new CallOptions(headers: _headers, deadline: deadline, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// What a failed call throws: the caller's cancellation as <see cref="OperationCanceledException"/>, a gRPC status as
    /// <see cref="SyncPeerException"/> with the code of the same name (a failure to connect, refused, reset or a TLS
    /// handshake, is "unavailable" whatever status the client chose), anything else as an unavailable peer;
    /// <see langword="null"/> to let the exception through as it is (a cancellation, or already a <see cref="SyncPeerException"/>).
    /// </summary>
    private Exception? Translate(SyncRpc rpc, Exception exception, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case RpcException ex when cancellationToken.IsCancellationRequested:
                return new OperationCanceledException($"{rpc} to {Name} was cancelled.", ex, cancellationToken);

            case RpcException ex:
                SyncStatusCode code = ex.Status.DebugException is HttpRequestException or IOException
                    ? SyncStatusCode.Unavailable
                    : StatusMapping.FromGrpc(ex.StatusCode);
                string detail = string.IsNullOrEmpty(ex.Status.Detail) ? "no detail" : ex.Status.Detail;
                string message = ex.StatusCode == StatusCode.DeadlineExceeded && _options.Deadline != Timeout.InfiniteTimeSpan
                    ? $"{rpc} to {Name} did not complete within its deadline ({_options.Deadline})."
                    : $"{rpc} to {Name} failed with {ex.StatusCode}: {detail}";
                return new SyncPeerException(code, message, ex);

            case OperationCanceledException or SyncPeerException:
                return null;

            default:
                // Grpc.Net.Client reports transport failures as RpcException; anything else (a broken handler, an
                // invalid response body) is still a failed call to this peer.
                return new SyncPeerException(SyncStatusCode.Unavailable, $"{rpc} to {Name} failed: {exception.Message}", exception);
        }
    }

    /// <summary>A wire count (uint64) as a count; one beyond <see cref="long.MaxValue"/> is outside the protocol.</summary>
    private long Count(SyncRpc rpc, ulong wire) =>
        wire <= long.MaxValue ? (long)wire : throw InvalidResponse(rpc, $"the assertion count {wire} is beyond any set");

    private SyncPeerException InvalidResponse(SyncRpc rpc, string what) =>
        new(SyncStatusCode.InvalidResponse, $"{rpc} to {Name} returned an answer outside the protocol: {what}.");

    private static GrpcChannel ThrowIfNull(GrpcChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel;
    }
}
