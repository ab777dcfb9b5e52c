using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StemeDb.Sync.Grpc.Internal;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Grpc;

/// <summary>
/// The v1 <c>stemedb.sync.v1.SyncService</c> over a transport-neutral <see cref="ISyncRequestHandler"/>:
/// every RPC translates its request to a handler call and the answer back, and nothing else. All limits,
/// length checks and rejection reasons live in the handler, so every transport behaves the same.
/// </summary>
/// <remarks>
/// <para>
/// Host it with ASP.NET Core (<c>services.AddGrpc(); services.AddSingleton&lt;SyncServiceImpl&gt;();
/// app.MapGrpcService&lt;SyncServiceImpl&gt;();</c>, with the node's handler registered as
/// <see cref="ISyncRequestHandler"/>); this package itself does not depend on ASP.NET Core. The class keeps no
/// per-call state, so one instance (a singleton) can serve every call; without the registration ASP.NET Core
/// creates one per call. Message size limits (answered with <c>RESOURCE_EXHAUSTED</c>) and TLS are the host's settings.
/// </para>
/// <para>
/// Built for subclassing. Each RPC runs, in order: <see cref="AdmitCall"/> (the per-peer guard, when one is
/// given: calls in flight, bytes in flight and rejected-request rate per peer; refused with <c>RESOURCE_EXHAUSTED</c>),
/// <see cref="AuthorizeAsync"/> (throw an
/// <see cref="RpcException"/> to refuse; the default allows every caller), the handler call (which validates
/// content with the node's <see cref="IAssertionContentValidator"/>, on every transport), and then the logging hooks <see cref="OnGossipRejected"/>, <see cref="OnRequestRejected"/>
/// and <see cref="OnUnexpectedException"/>. The RPC methods themselves stay overridable.
/// </para>
/// <para>
/// Errors: a <see cref="SyncRequestException"/> from the handler becomes an <see cref="RpcException"/> with
/// the status of the same name and the handler's message; a cancelled call becomes <c>CANCELLED</c>; any
/// other exception is logged and becomes <c>INTERNAL</c> with a generic message, never its details.
/// </para>
/// </remarks>
public class SyncServiceImpl : SyncService.SyncServiceBase
{
    private const string InternalErrorMessage = "The server failed to process the request.";

    /// <summary>Creates the service.</summary>
    /// <param name="handler">The node's request handler.</param>
    /// <param name="logger">Where rejections and failures are logged; none when <see langword="null"/>.</param>
    /// <param name="guard">Per-peer limits applied to every call (see <see cref="AdmitCall"/>); none when
    /// <see langword="null"/>. With dependency injection, register a <see cref="PeerGuard"/> singleton to enable it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    public SyncServiceImpl(ISyncRequestHandler handler, ILogger<SyncServiceImpl>? logger = null, PeerGuard? guard = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Handler = handler;
        Logger = (ILogger?)logger ?? NullLogger.Instance;
        Guard = guard;
    }

    /// <summary>The handler every RPC delegates to.</summary>
    protected ISyncRequestHandler Handler { get; }

    /// <summary>The logger the default hooks write to.</summary>
    protected ILogger Logger { get; }

    /// <summary>The per-peer guard the default <see cref="AdmitCall"/> applies; none when <see langword="null"/>.</summary>
    protected PeerGuard? Guard { get; }

    /// <inheritdoc />
    public override Task<GossipResponse> Gossip(GossipRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Gossip, request, context, static (self, r, c, lease) => self.GossipCoreAsync(r, c, lease));

    /// <inheritdoc />
    public override Task<RootExchangeResponse> ExchangeRoots(RootExchangeRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.ExchangeRoots, request, context, static (self, r, c, lease) => self.ExchangeRootsCoreAsync(r, c, lease));

    /// <inheritdoc />
    public override Task<FetchResponse> FetchAssertions(FetchRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.FetchAssertions, request, context, static (self, r, c, lease) => self.FetchAssertionsCoreAsync(r, c, lease));

    /// <inheritdoc />
    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Ping, request, context, static (self, r, c, lease) => self.PingCoreAsync(r, c, lease));

    /// <inheritdoc />
    public override Task<GetLeavesResponse> GetLeaves(GetLeavesRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.GetLeaves, request, context, static (self, r, c, lease) => self.GetLeavesCoreAsync(r, c, lease));

    /// <inheritdoc />
    public override Task<ReconcileResponse> Reconcile(ReconcileRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Reconcile, request, context, static (self, r, c, lease) => self.ReconcileCoreAsync(r, c, lease));

    /// <inheritdoc />
    public override Task<GossipBatchResponse> GossipBatch(GossipBatchRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.GossipBatch, request, context, static (self, r, c, lease) => self.GossipBatchCoreAsync(r, c, lease));

    /// <summary>
    /// Decides whether the caller may make this call; runs first in every RPC. The default allows every caller.
    /// </summary>
    /// <param name="rpc">The RPC being called.</param>
    /// <param name="context">The call: peer address, request headers, and with TLS the authenticated peer
    /// (<see cref="ServerCallContext.AuthContext"/>; under ASP.NET Core also <c>context.GetHttpContext()</c>
    /// for the client certificate).</param>
    /// <returns>A task that completes when the caller is allowed.</returns>
    /// <exception cref="RpcException">Throw with <see cref="StatusCode.Unauthenticated"/> or
    /// <see cref="StatusCode.PermissionDenied"/> to refuse; the handler is then not called and nothing is stored.</exception>
    protected virtual ValueTask AuthorizeAsync(SyncRpc rpc, ServerCallContext context) => default;

    /// <summary>Called when a gossip push is answered <c>accepted=false</c>. The default logs at debug level.</summary>
    /// <param name="message">The raw push.</param>
    /// <param name="reason">The reason sent back to the caller.</param>
    /// <param name="context">The call.</param>
    protected virtual void OnGossipRejected(GossipMessage message, string reason, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SyncServiceLog.GossipRejected(Logger, context.Peer, reason);
    }

    /// <summary>
    /// Called when the handler refuses a request (<see cref="SyncRequestException"/>), just before the caller gets
    /// the mapped status. The default logs at debug level.
    /// </summary>
    /// <param name="rpc">The RPC.</param>
    /// <param name="status">The status the caller gets.</param>
    /// <param name="exception">The handler's refusal.</param>
    /// <param name="context">The call.</param>
    protected virtual void OnRequestRejected(SyncRpc rpc, Status status, SyncRequestException exception, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SyncServiceLog.RequestRejected(Logger, rpc, context.Peer, status.StatusCode, status.Detail);
    }

    /// <summary>
    /// Called when an RPC fails with an exception that is neither a refusal nor a cancellation; the caller gets
    /// <c>INTERNAL</c> with a generic message. The default logs the exception at error level.
    /// </summary>
    /// <param name="rpc">The RPC.</param>
    /// <param name="exception">The failure.</param>
    /// <param name="context">The call.</param>
    protected virtual void OnUnexpectedException(SyncRpc rpc, Exception exception, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SyncServiceLog.UnexpectedError(Logger, rpc, context.Peer, exception);
    }

    /// <summary>
    /// Admits or refuses a call before anything else runs; the default applies <see cref="Guard"/> (when set) to the
    /// peer named by <see cref="GetPeerKey"/>. Runs before <see cref="AuthorizeAsync"/>, so callers that fail
    /// authorization are limited too.
    /// </summary>
    /// <param name="rpc">The RPC being called.</param>
    /// <param name="requestBytes">The size of the request message, in bytes.</param>
    /// <param name="context">The call.</param>
    /// <returns>The admitted lease, disposed when the call ends (rejections are counted against it); or
    /// <see langword="null"/> when no guard applies.</returns>
    /// <exception cref="RpcException">The call is refused: <see cref="StatusCode.ResourceExhausted"/> with the reason;
    /// the handler is then not called and nothing is stored.</exception>
    protected virtual PeerGuardLease? AdmitCall(SyncRpc rpc, int requestBytes, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Guard is null)
        {
            return null;
        }

        PeerGuardLease lease = Guard.Enter(GetPeerKey(context), requestBytes);
        if (lease.IsAdmitted)
        {
            return lease;
        }

        var status = new Status(StatusCode.ResourceExhausted, lease.Refusal switch
        {
            PeerGuardRefusal.TooManyConcurrentCalls => "Too many concurrent calls from this peer.",
            PeerGuardRefusal.TooManyBytesInFlight => "Too many request bytes in flight from this peer.",
            _ => $"Too many rejected requests from this peer; refused for another {Math.Ceiling(lease.RetryAfter.TotalSeconds)} s.",
        });
        SyncServiceLog.PeerRefused(Logger, rpc, lease.Peer, lease.Refusal);
        throw new RpcException(status);
    }

    /// <summary>
    /// Names the peer a call comes from, for <see cref="AdmitCall"/>. The default: with an authenticated peer (TLS client
    /// certificate) its identity; otherwise the remote address without the port (<c>ipv4:10.0.0.7</c>), so that new
    /// connections do not escape the limits. Override to key by something else (an authenticated user, a header
    /// set by a trusted proxy, the full address with port).
    /// </summary>
    /// <param name="context">The call.</param>
    /// <returns>A non-empty key; calls with equal keys share limits.</returns>
    protected virtual string GetPeerKey(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        AuthContext? auth = context.AuthContext;
        if (auth is { IsPeerAuthenticated: true })
        {
            return "auth:" + string.Join(",", auth.PeerIdentity);
        }

        string peer = context.Peer ?? string.Empty;
        if (peer.StartsWith("ipv4:", StringComparison.Ordinal) || peer.StartsWith("ipv6:", StringComparison.Ordinal))
        {
            int colon = peer.LastIndexOf(':');
            if (colon > 5 && peer[colon - 1] != ':')
            {
                peer = peer[..colon];
            }
        }

        return peer.Length == 0 ? "unknown" : peer;
    }

    // Every RPC: admission by the peer guard, authorization, the call itself, and errors mapped to a status. The
    // per-RPC bodies return ValueTask, so one that completes synchronously (the usual gossip push into an in-memory
    // store) allocates no task of its own.
    private async Task<TResponse> ServeAsync<TRequest, TResponse>(
        SyncRpc rpc,
        TRequest request,
        ServerCallContext context,
        Func<SyncServiceImpl, TRequest, ServerCallContext, PeerGuardLease?, ValueTask<TResponse>> call)
        where TRequest : IMessage
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        using PeerGuardLease? lease = AdmitCall(rpc, request.CalculateSize(), context);
        try
        {
            await AuthorizeCoreAsync(rpc, context, lease).ConfigureAwait(false);
            return await call(this, request, context, lease).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw ToRpcException(rpc, ex, context, lease);
        }
    }

    private async ValueTask<GossipResponse> GossipCoreAsync(GossipRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        var message = new GossipMessage(
            request.AssertionHash.Memory,
            request.AssertionData.Memory,
            request.HlcTime,
            request.HlcCounter,
            request.HlcNodeId.Memory);

        GossipResult result = await Handler.GossipAsync(message, context.CancellationToken).ConfigureAwait(false);

        if (!result.Accepted)
        {
            OnGossipRejected(message, result.Error ?? string.Empty, context);
            RecordRejection(SyncRpc.Gossip, lease, context);
        }

        return new GossipResponse { Accepted = result.Accepted, Error = result.Error ?? string.Empty };
    }

    private async ValueTask<RootExchangeResponse> ExchangeRootsCoreAsync(RootExchangeRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        RootExchangeResult result = await Handler
            .ExchangeRootsAsync(request.MerkleRoot.Memory, request.AssertionCount, context.CancellationToken)
            .ConfigureAwait(false);
        return new RootExchangeResponse
        {
            MerkleRoot = Wrap(result.Remote.Root),
            AssertionCount = result.Remote.Count,
            RootsMatch = result.RootsMatch,
        };
    }

    private async ValueTask<FetchResponse> FetchAssertionsCoreAsync(FetchRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        // The list is bounded by the received message size; the handler enforces the 1,000-hash limit.
        var hashes = new ReadOnlyMemory<byte>[request.Hashes.Count];
        for (int i = 0; i < hashes.Length; i++)
        {
            hashes[i] = request.Hashes[i].Memory;
        }

        IReadOnlyList<AssertionRecord> records = await Handler
            .FetchAsync(hashes, context.CancellationToken)
            .ConfigureAwait(false);

        var response = new FetchResponse();
        foreach (AssertionRecord record in records)
        {
            response.Assertions.Add(new AssertionData
            {
                Hash = Wrap(record.Hash),
                Data = UnsafeByteOperations.UnsafeWrap(record.Data), // records are immutable
                HlcTime = record.Timestamp.Time,
                HlcCounter = record.Timestamp.Counter,
                HlcNodeId = UnsafeByteOperations.UnsafeWrap(record.Timestamp.NodeId.ToArray()),
            });
        }

        return response;
    }

    private async ValueTask<PingResponse> PingCoreAsync(PingRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        PingResult result = await Handler.PingAsync(request.NodeId.Memory, context.CancellationToken).ConfigureAwait(false);
        return new PingResponse
        {
            NodeId = UnsafeByteOperations.UnsafeWrap(result.NodeId.ToArray()),
            AssertionCount = result.AssertionCount,
        };
    }

    private async ValueTask<GetLeavesResponse> GetLeavesCoreAsync(GetLeavesRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        // max_leaves is uint64 on the wire; every value above the 10,000 cap means the cap, so clamping to uint keeps
        // its meaning (2^32 + 5 asks for 10,000 leaves, not 5).
        uint maxLeaves = request.MaxLeaves > uint.MaxValue ? uint.MaxValue : (uint)request.MaxLeaves;
        LeavesPage page = request.StartAfter.IsEmpty
            ? await Handler.GetLeavesAsync(maxLeaves, context.CancellationToken).ConfigureAwait(false)
            : await Handler.GetLeavesAsync(maxLeaves, request.StartAfter.Memory, context.CancellationToken).ConfigureAwait(false);
        var response = new GetLeavesResponse { Truncated = page.Truncated };
        foreach (AssertionHash leaf in page.Leaves)
        {
            response.Leaves.Add(Wrap(leaf));
        }

        return response;
    }

    private async ValueTask<ReconcileResponse> ReconcileCoreAsync(ReconcileRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        var round = new ReconcileRoundRequest(
            request.Version,
            request.AssertionCount,
            request.SliceFingerprints.Memory,
            request.Slices.Memory,
            request.Cells,
            request.Salt);
        ReconcileRoundResponse answer = await Handler.ReconcileAsync(round, context.CancellationToken).ConfigureAwait(false);
        return new ReconcileResponse
        {
            Identical = answer.Identical,
            AssertionCount = answer.AssertionCount,
            Slices = UnsafeByteOperations.UnsafeWrap(answer.Slices),
            EstimatedDifferences = answer.EstimatedDifferences,
            Salt = answer.Salt,
            Table = UnsafeByteOperations.UnsafeWrap(answer.Table),
            TooManyDifferences = answer.TooManyDifferences,
        };
    }

    private async ValueTask<GossipBatchResponse> GossipBatchCoreAsync(GossipBatchRequest request, ServerCallContext context, PeerGuardLease? lease)
    {
        // The handler enforces the batch limit and answers once per push.
        var messages = new GossipMessage[request.Assertions.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            AssertionData item = request.Assertions[i];
            messages[i] = new GossipMessage(item.Hash.Memory, item.Data.Memory, item.HlcTime, item.HlcCounter, item.HlcNodeId.Memory);
        }

        IReadOnlyList<GossipResult> results = await Handler.GossipBatchAsync(messages, context.CancellationToken).ConfigureAwait(false);
        var response = new GossipBatchResponse();
        for (int i = 0; i < results.Count; i++)
        {
            GossipResult result = results[i];
            if (!result.Accepted && i < messages.Length)
            {
                OnGossipRejected(messages[i], result.Error ?? string.Empty, context);
            }

            response.Results.Add(new GossipResponse { Accepted = result.Accepted, Error = result.Error ?? string.Empty });
        }

        return response;
    }

    private async ValueTask AuthorizeCoreAsync(SyncRpc rpc, ServerCallContext context, PeerGuardLease? lease)
    {
        try
        {
            await AuthorizeAsync(rpc, context).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            RecordRejection(rpc, lease, context);
            throw;
        }
    }

    private void RecordRejection(SyncRpc rpc, PeerGuardLease? lease, ServerCallContext context)
    {
        if (lease is not null && lease.RecordRejection())
        {
            SyncServiceLog.PeerBlocked(Logger, rpc, lease.Peer);
        }
    }

    private RpcException ToRpcException(SyncRpc rpc, Exception exception, ServerCallContext context, PeerGuardLease? lease)
    {
        switch (exception)
        {
            case SyncRequestException refused:
                var status = new Status(StatusMapping.ToGrpc(refused.Code), refused.Message);
                OnRequestRejected(rpc, status, refused, context);
                RecordRejection(rpc, lease, context);
                return new RpcException(status);

            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                SyncServiceLog.CallCancelled(Logger, rpc, context.Peer);
                return new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));

            default:
                OnUnexpectedException(rpc, exception, context);
                return new RpcException(new Status(StatusCode.Internal, InternalErrorMessage));
        }
    }

    private static ByteString Wrap(AssertionHash hash) => UnsafeByteOperations.UnsafeWrap(hash.ToArray());
}
