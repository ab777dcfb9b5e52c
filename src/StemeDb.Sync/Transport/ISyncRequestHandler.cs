using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync;

/// <summary>
/// The server side of every v1 RPC, independent of the transport. Transport adapters (the gRPC service,
/// the in-memory transport) translate their messages to these calls and back, and nothing else: every
/// length check, limit, verification and rejection reason lives behind this interface, so that all
/// transports behave the same.
/// </summary>
/// <remarks>
/// Invalid requests other than gossip fail with <see cref="SyncRequestException"/>, whose
/// <see cref="SyncRequestException.Code"/> the adapter maps to its own status (gRPC: the same name).
/// Gossip never throws for bad input: it answers <see cref="GossipResult.Rejected"/> with the reason.
/// </remarks>
public interface ISyncRequestHandler
{
    /// <summary>Verifies and stores a pushed assertion.</summary>
    /// <param name="message">The raw push.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Accepted (stored, or already held), or rejected with the reason; a rejection stores nothing.</returns>
    ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default);

    /// <summary>Compares the caller's root with the local one.</summary>
    /// <param name="callerRoot">The caller's root (must be 32 bytes, or empty when the caller sends none).</param>
    /// <param name="callerCount">The caller's assertion count.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The local root and count, and whether the roots match.</returns>
    ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default);

    /// <summary>Lists local leaves in ascending order.</summary>
    /// <param name="maxLeaves">Requested maximum; 0 or above the cap means the cap (10,000).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>At most the cap, with <see cref="LeavesPage.Truncated"/> set exactly when more leaves exist.</returns>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The cursor overload is a wire extension; both keep the usual optional CancellationToken.")]
    ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default);

    /// <summary>Returns the records for the given hashes, skipping unknown ones.</summary>
    /// <param name="hashes">Raw hashes (each must be 32 bytes; at most 1,000).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The records held, in request order.</returns>
    /// <exception cref="SyncRequestException">More than 1,000 hashes, or a hash of the wrong length (<see cref="SyncStatusCode.InvalidArgument"/>).</exception>
    ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default);

    /// <summary>Answers a liveness check.</summary>
    /// <param name="callerNodeId">The caller's node id (16 bytes, or empty).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The local node id and assertion count.</returns>
    ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default);

    /// <summary>Extension: lists local leaves in ascending order, strictly after a cursor.</summary>
    /// <param name="maxLeaves">Requested maximum; 0 or above the cap means the cap (10,000).</param>
    /// <param name="startAfter">The raw cursor: empty for the first page, otherwise 32 bytes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>At most the cap, with <see cref="LeavesPage.Truncated"/> set exactly when more leaves follow.</returns>
    /// <exception cref="SyncRequestException">The cursor is neither empty nor 32 bytes (<see cref="SyncStatusCode.InvalidArgument"/>).</exception>
    /// <remarks>The default implementation behaves as a v1 node: it ignores the cursor.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The cursor overload is a wire extension; both keep the usual optional CancellationToken.")]
    ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
        GetLeavesAsync(maxLeaves, cancellationToken);

    /// <summary>Extension: answers one round of set reconciliation (docs/PROTOCOL.md, "Reconcile").</summary>
    /// <param name="request">The raw round.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="SyncRequestException">Malformed round (<see cref="SyncStatusCode.InvalidArgument"/>), or not implemented (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation).</exception>
    internal ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken = default) =>
        throw new SyncRequestException(SyncStatusCode.Unimplemented, "Reconcile is not implemented by this node.");

    /// <summary>Extension: verifies and stores up to 1,000 pushed assertions, each exactly as <see cref="GossipAsync"/> would.</summary>
    /// <param name="messages">The raw pushes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One result per push, in order.</returns>
    /// <exception cref="SyncRequestException">More than 1,000 pushes (<see cref="SyncStatusCode.InvalidArgument"/>), or not implemented (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation).</exception>
    ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default) =>
        throw new SyncRequestException(SyncStatusCode.Unimplemented, "GossipBatch is not implemented by this node.");

    /// <summary>
    /// Extension: answers one message of a <c>ReconcileSymbols</c> stream (docs/PROTOCOL.md, "ReconcileSymbols"). Each
    /// message stands alone: the answer names the snapshot it describes, which the next request sends back.
    /// </summary>
    /// <param name="request">The raw request.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="SyncRequestException">Malformed request (<see cref="SyncStatusCode.InvalidArgument"/>), symbols past what this node keeps (<see cref="SyncStatusCode.ResourceExhausted"/>), or not implemented (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation).</exception>
    internal ValueTask<ReconcileSymbolsResponse> ReconcileSymbolsAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default) =>
        throw new SyncRequestException(SyncStatusCode.Unimplemented, "ReconcileSymbols is not implemented by this node.");

    /// <summary>Extension: answers one message of the <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast").</summary>
    /// <param name="request">The raw message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="SyncRequestException">Malformed message (<see cref="SyncStatusCode.InvalidArgument"/>), or not implemented (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation).</exception>
    internal ValueTask<BroadcastResponse> BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken) =>
        throw new SyncRequestException(SyncStatusCode.Unimplemented, "Broadcast is not implemented by this node.");

    /// <summary>Extension: the node's sync status (docs/PROTOCOL.md, "GetStatus"), its peers cut to <see cref="SyncProtocol.MaxStatusPeers"/>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status, and how many peers the node has in all.</returns>
    /// <exception cref="SyncRequestException">Not implemented (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation).</exception>
    internal ValueTask<StatusAnswer> GetStatusAsync(CancellationToken cancellationToken) =>
        throw new SyncRequestException(SyncStatusCode.Unimplemented, "GetStatus is not implemented by this node.");

    /// <summary>
    /// Extension: the local assertions in ascending hash order, strictly after a cursor, as one assertion stream
    /// (docs/STREAM-FORMAT.md: header, records, end marker) cut into chunks of 1 to <see cref="SyncProtocol.MaxStreamChunkBytes"/>
    /// bytes (docs/PROTOCOL.md, "StreamAssertions").
    /// </summary>
    /// <param name="startAfter">The raw cursor: empty to start at the first assertion, otherwise 32 bytes.</param>
    /// <param name="maxRecords">The most records to send; 0 for all.</param>
    /// <param name="cancellationToken">Cancels the call; the stream then ends without its end marker.</param>
    /// <returns>The chunks, in order. A chunk's memory is valid until the enumerator moves on: the caller sends or copies it first.
    /// The enumeration is lazy: the store is read as chunks are taken, so a slow caller holds the server back.</returns>
    /// <exception cref="SyncRequestException">The cursor is neither empty nor 32 bytes (<see cref="SyncStatusCode.InvalidArgument"/>), or
    /// not implemented (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation, which throws when called).</exception>
    IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
        throw new SyncRequestException(SyncStatusCode.Unimplemented, "StreamAssertions is not implemented by this node.");
}
