using System;
using System.Linq;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Grpc.Internal;
using StemeDb.Sync.Grpc.V1;
using WireSymbolsRequest = StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest;
using WireSymbolsResponse = StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse;

namespace StemeDb.Sync.Grpc;

/// <summary>
/// The v1 <c>stemedb.sync.v1.SyncService</c> over a transport-neutral <see cref="ISyncRequestHandler"/>:
/// every RPC translates its request to a handler call and the answer back, and nothing else. All limits,
/// length checks and rejection reasons live in the handler, so every transport behaves the same.
/// </summary>
/// <remarks>
/// <para>
/// Host it with ASP.NET Core: with the StemeDb.Sync.AspNetCore package, <c>services.AddGrpc();
/// services.AddStemeDbSync(...); app.MapStemeDbSync();</c>; by hand, register a <see cref="SyncServer"/> and
/// <c>app.MapGrpcService&lt;SyncServiceImpl&gt;()</c>. This package itself does not depend on ASP.NET Core. The class
/// keeps no per-call state, so one instance (a singleton) can serve every call. Message size limits (answered with
/// <c>RESOURCE_EXHAUSTED</c>) and TLS are the host's settings.
/// </para>
/// <para>
/// Every call goes through a transport-neutral <see cref="SyncServer"/> (<see cref="Server"/>): the per-peer
/// <see cref="PeerGuard"/> and the <see cref="ISyncCallAuthorizer"/>, when given, then the handler, which validates
/// the request and the content (the node's <see cref="IAssertionContentValidator"/>). This class supplies the caller
/// (<see cref="GetCaller"/>, from <see cref="GetPeerKey"/> and the TLS peer identity) and maps messages and errors.
/// ASP.NET Core authorization works on it as on any gRPC service (<c>[Authorize]</c> on a subclass,
/// <c>RequireAuthorization()</c> on its endpoint, interceptors). Subclass it to name callers differently or to
/// observe rejections (<see cref="OnGossipRejected"/>, <see cref="OnRequestRejected"/>,
/// <see cref="OnUnexpectedException"/>); the RPC methods themselves stay overridable.
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

    /// <summary>Creates the service over a node's server side.</summary>
    /// <param name="server">The transport-neutral server: the node's handler with its <see cref="PeerGuard"/>,
    /// <see cref="ISyncCallAuthorizer"/> and logger. With dependency injection (<c>AddStemeDbSync</c>) it is
    /// registered for you with every one of them, so a subclass whose constructor takes a <see cref="SyncServer"/>
    /// and passes it on keeps them all. Without it, build one: <c>new SyncServer(node.Handler, guard, authorizer, logger)</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="server"/> is <see langword="null"/>.</exception>
    public SyncServiceImpl(SyncServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        Logger = server.Logger;

        // A subclass that overrides AuthorizeAsync gets it run by the server, after the given authorizer, so that its
        // refusals count against the caller (and are logged, at most once a minute per caller) like any other.
        bool hooked = GetType().GetMethod(nameof(AuthorizeAsync), BindingFlags.Instance | BindingFlags.NonPublic, [typeof(SyncRpc), typeof(ServerCallContext)])?.DeclaringType != typeof(SyncServiceImpl);
        Server = server;
        _hook = hooked ? new HookAuthorizer(this) : null;
    }

    private readonly HookAuthorizer? _hook;

    /// <summary>The transport-neutral server every RPC goes through: guard, authorizer, handler.</summary>
    protected SyncServer Server { get; }

    /// <summary>The logger the default hooks write to.</summary>
    protected ILogger Logger { get; }

    /// <inheritdoc />
    public override Task<GossipResponse> Gossip(GossipRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Gossip, request, context, static (self, r, c, handler) => self.GossipCoreAsync(r, c, handler));

    /// <inheritdoc />
    public override Task<RootExchangeResponse> ExchangeRoots(RootExchangeRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.ExchangeRoots, request, context, static (self, r, c, handler) => self.ExchangeRootsCoreAsync(r, c, handler));

    /// <inheritdoc />
    public override Task<FetchResponse> FetchAssertions(FetchRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.FetchAssertions, request, context, static (self, r, c, handler) => self.FetchAssertionsCoreAsync(r, c, handler));

    /// <inheritdoc />
    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Ping, request, context, static (self, r, c, handler) => self.PingCoreAsync(r, c, handler));

    /// <inheritdoc />
    public override Task<GetLeavesResponse> GetLeaves(GetLeavesRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.GetLeaves, request, context, static (self, r, c, handler) => self.GetLeavesCoreAsync(r, c, handler));

    /// <inheritdoc />
    public override Task<ReconcileResponse> Reconcile(ReconcileRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Reconcile, request, context, static (self, r, c, handler) => self.ReconcileCoreAsync(r, c, handler));

    /// <inheritdoc />
    public override Task<GossipBatchResponse> GossipBatch(GossipBatchRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.GossipBatch, request, context, static (self, r, c, handler) => self.GossipBatchCoreAsync(r, c, handler));

    /// <summary>
    /// Extension (docs/PROTOCOL.md, "Broadcast"): payloads and announcements on the sender's broadcast link, served
    /// through the same pipeline as every call.
    /// </summary>
    /// <param name="request">The message.</param>
    /// <param name="context">The call context.</param>
    /// <returns>The answer.</returns>
    public override Task<V1.BroadcastResponse> Broadcast(V1.BroadcastRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.Broadcast, request, context, static (self, r, c, handler) => self.BroadcastCoreAsync(r, c, handler));

    /// <summary>
    /// Extension (docs/PROTOCOL.md, "GetStatus"): the node's sync status, for operators, served through the same pipeline
    /// as every call (an authorizer decides who may read it).
    /// </summary>
    /// <param name="request">The (empty) request.</param>
    /// <param name="context">The call context.</param>
    /// <returns>The status.</returns>
    public override Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context) =>
        ServeAsync(SyncRpc.GetStatus, request, context, static (self, r, c, handler) => self.GetStatusCoreAsync(c, handler));

    /// <inheritdoc />
    /// <remarks>
    /// Extension (docs/PROTOCOL.md, "ReconcileSymbols"): each request of the stream is admitted, authorized and answered
    /// on its own, like a unary call, in order; the stream ends when the caller completes it.
    /// </remarks>
    public override async Task ReconcileSymbols(
        IAsyncStreamReader<WireSymbolsRequest> requestStream, IServerStreamWriter<WireSymbolsResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            ISyncRequestHandler handler = Server.For(GetCaller(context), _hook);
            while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                ReconcileSymbolsResponse answer = await handler.ReconcileSymbolsAsync(
                    WireMapping.FromWire(requestStream.Current), context.CancellationToken).ConfigureAwait(false);
                await responseStream.WriteAsync(WireMapping.ToWire(answer)).ConfigureAwait(false); // the call's own cancellation ends the write
            }
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw ToRpcException(SyncRpc.ReconcileSymbols, ex, context);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Each chunk the handler gives is sent as one <see cref="AssertionChunk"/> and awaited before the next is read, so
    /// the client's flow control holds the handler (and its reads of the store) back. A failure before the first chunk
    /// is the call's status; after it the stream ends with that status, without the stream's end marker.
    /// </remarks>
    public override async Task StreamAssertions(StreamAssertionsRequest request, IServerStreamWriter<AssertionChunk> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            ISyncRequestHandler handler = Server.For(GetCaller(context), _hook);
            IAsyncEnumerable<ReadOnlyMemory<byte>> chunks = handler.StreamAssertionsAsync(request.StartAfter.Memory, request.MaxRecords, context.CancellationToken);
            await foreach (ReadOnlyMemory<byte> chunk in chunks.ConfigureAwait(false))
            {
                // The chunk's memory is reused once the enumerator moves on: the write serializes it before it completes.
                await responseStream.WriteAsync(new AssertionChunk { Data = UnsafeByteOperations.UnsafeWrap(chunk) }).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw ToRpcException(SyncRpc.StreamAssertions, ex, context);
        }
    }

    /// <summary>
    /// Decides whether the caller may make this call; runs in every RPC after the guard's admission and the
    /// <see cref="ISyncCallAuthorizer"/> (when given), before the handler. The default allows every caller.
    /// </summary>
    /// <param name="rpc">The RPC being called.</param>
    /// <param name="context">The call: peer address, request headers, and with TLS the authenticated peer
    /// (<see cref="ServerCallContext.AuthContext"/>; under ASP.NET Core also <c>context.GetHttpContext()</c>
    /// for the client certificate).</param>
    /// <returns>A task that completes when the caller is allowed.</returns>
    /// <exception cref="RpcException">Throw with <see cref="StatusCode.Unauthenticated"/> or
    /// <see cref="StatusCode.PermissionDenied"/> to refuse; the refusal counts against the caller in the guard, the
    /// handler is then not called and nothing is stored.</exception>
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
    /// Names the peer a call comes from, for the guard's limits (<see cref="GetCaller"/>). The default: with an authenticated peer (TLS client
    /// certificate) its identity; otherwise the caller's network source (<see cref="GetSource"/>), so that new
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
            return "auth:" + string.Join(",", auth.PeerIdentity.Select(static property => property.Value));
        }

        return GetSource(context);
    }

    /// <summary>
    /// The network source of a call, which failed authentications count against: the remote IPv4 address without the
    /// port (<c>ipv4:10.0.0.7</c>), or the /64 prefix of a remote IPv6 address (<c>ipv6:[2001:db8:1:2::]/64</c>), so that
    /// a caller rotating addresses within its network gains nothing; <c>unknown</c> when the transport names none.
    /// </summary>
    /// <param name="context">The call.</param>
    /// <returns>A non-empty source.</returns>
    protected static string GetSource(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return WireMapping.Source(context.Peer);
    }

    /// <summary>
    /// The caller of a call, for <see cref="Server"/>: keyed by <see cref="GetPeerKey"/>, authenticated when TLS
    /// authenticated the peer, from <see cref="GetSource"/>, with <paramref name="context"/> as its transport context.
    /// </summary>
    /// <param name="context">The call.</param>
    /// <returns>The caller.</returns>
    protected virtual SyncCaller GetCaller(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new SyncCaller(GetPeerKey(context), context.AuthContext is { IsPeerAuthenticated: true }, context) { Source = GetSource(context) };
    }

    // Every RPC: the handler for this caller (guard and authorizer in front when configured), the call itself, and
    // errors mapped to a status. The per-RPC bodies return ValueTask, so one that completes synchronously (the usual
    // gossip push into an in-memory store) allocates no task of its own.
    private async Task<TResponse> ServeAsync<TRequest, TResponse>(
        SyncRpc rpc,
        TRequest request,
        ServerCallContext context,
        Func<SyncServiceImpl, TRequest, ServerCallContext, ISyncRequestHandler, ValueTask<TResponse>> call)
        where TRequest : IMessage
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            ISyncRequestHandler handler = Server.For(GetCaller(context), _hook);
            return await call(this, request, context, handler).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw ToRpcException(rpc, ex, context);
        }
    }

    private async ValueTask<GossipResponse> GossipCoreAsync(GossipRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        GossipMessage message = WireMapping.ToMessage(request);

        GossipResult result = await handler.GossipAsync(message, context.CancellationToken).ConfigureAwait(false);

        if (!result.Accepted)
        {
            OnGossipRejected(message, result.Error ?? string.Empty, context);
        }

        return new GossipResponse { Accepted = result.Accepted, Error = result.Error ?? string.Empty };
    }

    private async ValueTask<RootExchangeResponse> ExchangeRootsCoreAsync(RootExchangeRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        RootExchangeResult result = await handler
            .ExchangeRootsAsync(request.MerkleRoot.Memory, request.AssertionCount, context.CancellationToken)
            .ConfigureAwait(false);
        return new RootExchangeResponse
        {
            MerkleRoot = WireMapping.Bytes(result.Remote.Root),
            AssertionCount = WireMapping.Count(result.Remote.Count),
            RootsMatch = result.RootsMatch,
        };
    }

    private async ValueTask<FetchResponse> FetchAssertionsCoreAsync(FetchRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        // The list is bounded by the received message size; the handler enforces the 1,000-hash limit.
        var hashes = new ReadOnlyMemory<byte>[request.Hashes.Count];
        for (int i = 0; i < hashes.Length; i++)
        {
            hashes[i] = request.Hashes[i].Memory;
        }

        IReadOnlyList<AssertionRecord> records = await handler
            .FetchAsync(hashes, context.CancellationToken)
            .ConfigureAwait(false);

        var response = new FetchResponse();
        foreach (AssertionRecord record in records)
        {
            response.Assertions.Add(WireMapping.ToData(record));
        }

        return response;
    }

    private async ValueTask<GetStatusResponse> GetStatusCoreAsync(ServerCallContext context, ISyncRequestHandler handler) =>
        WireMapping.ToWire(await handler.GetStatusAsync(context.CancellationToken).ConfigureAwait(false));

    private async ValueTask<PingResponse> PingCoreAsync(PingRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        PingResult result = await handler.PingAsync(request.NodeId.Memory, context.CancellationToken).ConfigureAwait(false);
        return new PingResponse
        {
            NodeId = WireMapping.Bytes(result.NodeId),
            AssertionCount = WireMapping.Count(result.AssertionCount),
        };
    }

    private async ValueTask<GetLeavesResponse> GetLeavesCoreAsync(GetLeavesRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        // max_leaves is uint64 on the wire; every value above the 10,000 cap means the cap, so clamping to uint keeps
        // its meaning (2^32 + 5 asks for 10,000 leaves, not 5).
        uint maxLeaves = request.MaxLeaves > uint.MaxValue ? uint.MaxValue : (uint)request.MaxLeaves;
        LeavesPage page = request.StartAfter.IsEmpty
            ? await handler.GetLeavesAsync(maxLeaves, context.CancellationToken).ConfigureAwait(false)
            : await handler.GetLeavesAsync(maxLeaves, request.StartAfter.Memory, context.CancellationToken).ConfigureAwait(false);
        var response = new GetLeavesResponse { Truncated = page.Truncated };
        foreach (AssertionHash leaf in page.Leaves)
        {
            response.Leaves.Add(WireMapping.Bytes(leaf));
        }

        return response;
    }

    private async ValueTask<ReconcileResponse> ReconcileCoreAsync(ReconcileRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        var round = new ReconcileRoundRequest(
            request.Version,
            request.AssertionCount,
            request.SliceFingerprints.Memory,
            request.Slices.Memory,
            request.Cells,
            request.Salt);
        ReconcileRoundResponse answer = await handler.ReconcileAsync(round, context.CancellationToken).ConfigureAwait(false);
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

    private async ValueTask<V1.BroadcastResponse> BroadcastCoreAsync(V1.BroadcastRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        // The handler checks every field and limit.
        var messages = new GossipMessage[request.Assertions.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = WireMapping.ToMessage(request.Assertions[i]);
        }

        var announced = new ReadOnlyMemory<byte>[request.Announced.Count];
        for (int i = 0; i < announced.Length; i++)
        {
            announced[i] = request.Announced[i].Memory;
        }

        BroadcastResponse answer = await handler.BroadcastAsync(
            new BroadcastRequest(request.SenderNodeId.Memory, messages, announced, request.Eager), context.CancellationToken).ConfigureAwait(false);
        var response = new V1.BroadcastResponse { NodeId = UnsafeByteOperations.UnsafeWrap(answer.NodeId), Prune = answer.Prune, Graft = answer.Graft };
        for (int i = 0; i < answer.Results.Count; i++)
        {
            GossipResult result = answer.Results[i];
            if (!result.Accepted && i < messages.Length)
            {
                OnGossipRejected(messages[i], result.Error, context);
            }

            response.Results.Add(new GossipResponse { Accepted = result.Accepted, Error = result.Error });
        }

        foreach (ReadOnlyMemory<byte> hash in answer.Want)
        {
            response.Want.Add(UnsafeByteOperations.UnsafeWrap(hash));
        }

        return response;
    }

    private async ValueTask<GossipBatchResponse> GossipBatchCoreAsync(GossipBatchRequest request, ServerCallContext context, ISyncRequestHandler handler)
    {
        // The handler enforces the batch limit and answers once per push.
        var messages = new GossipMessage[request.Assertions.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = WireMapping.ToMessage(request.Assertions[i]);
        }

        IReadOnlyList<GossipResult> results = await handler.GossipBatchAsync(messages, context.CancellationToken).ConfigureAwait(false);
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

    private RpcException ToRpcException(SyncRpc rpc, Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case SyncRequestException refused:
                var status = new Status(StatusMapping.ToGrpc(refused.Code), refused.Message);
                OnRequestRejected(rpc, status, refused, context);
                return new RpcException(status);

            // A stream's reads fail with an IOException when the client resets the stream: the same cancellation.
            case OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested:
                SyncServiceLog.CallCancelled(Logger, rpc, context.Peer);
                return new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));

            default:
                OnUnexpectedException(rpc, exception, context);
                return new RpcException(new Status(StatusCode.Internal, InternalErrorMessage));
        }
    }

    /// <summary>The subclass's <see cref="AuthorizeAsync"/> hook with the gRPC call; the server runs it after its own authorizer.</summary>
    private sealed class HookAuthorizer(SyncServiceImpl service) : ISyncCallAuthorizer
    {
        public async ValueTask AuthorizeAsync(SyncCaller caller, SyncRpc rpc, CancellationToken cancellationToken)
        {
            if (caller.TransportContext is not ServerCallContext context)
            {
                throw new InvalidOperationException($"{nameof(GetCaller)} must pass the ServerCallContext as the caller's transport context.");
            }

            try
            {
                await service.AuthorizeAsync(rpc, context).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
            {
                // As the server's own refusal, so that it is counted and logged by kind; the caller gets the same status and detail.
                throw new SyncRequestException(StatusMapping.FromGrpc(ex.StatusCode), ex.Status.Detail);
            }
        }
    }
}
