using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync;

/// <summary>
/// The client-side view of one remote node, whatever the transport (gRPC, in-memory, ...). The engine
/// talks to peers only through this interface.
/// </summary>
/// <remarks>
/// Implementations map transport failures to <see cref="SyncPeerException"/> (peer unreachable,
/// deadline exceeded, request refused, malformed answer) and honour cancellation with
/// <see cref="System.OperationCanceledException"/>. A request over the protocol's limits (a fetch of more than
/// <see cref="SyncProtocol.MaxFetchHashes"/> hashes, a batch of more than <see cref="SyncProtocol.MaxGossipBatch"/>
/// assertions) is the caller's mistake: it throws <see cref="ArgumentException"/> before any call, on every transport.
/// Answers are untrusted: the engine verifies every fetched record before storing it.
/// </remarks>
public interface ISyncPeer
{
    /// <summary>A human-readable name of the peer (an address), for logs and metrics.</summary>
    string Name { get; }

    /// <summary>Pushes one assertion to the peer.</summary>
    /// <param name="record">The assertion.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the peer accepted it, and why not.</returns>
    ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default);

    /// <summary>Sends the local root and count and returns the peer's.</summary>
    /// <param name="local">The caller's root and count.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The peer's root and count.</returns>
    ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns up to <paramref name="maxLeaves"/> of the peer's Merkle leaves: a node of this library answers its first
    /// ones in ascending order; the v1 contract promises no order, so a v1 node's page may come in its own order (the
    /// engine sorts a first page that is not ascending and pages that peer no further).
    /// </summary>
    /// <param name="maxLeaves">Maximum number of leaves (the peer caps it; v1 peers cap at 10,000).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page and whether it was truncated.</returns>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The cursor overload is a wire extension; both keep the usual optional CancellationToken.")]
    ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default);

    /// <summary>Fetches assertions by hash (at most 1,000 per call); hashes the peer lacks are skipped.</summary>
    /// <param name="hashes">The hashes wanted.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The records the peer returned (unverified). A record whose peer sent no timestamp (a v1 peer sends only
    /// hash and data) carries <see cref="HlcTimestamp.None"/>; the node stamps it before storing it.</returns>
    /// <exception cref="ArgumentException">More than <see cref="SyncProtocol.MaxFetchHashes"/> hashes; thrown before any call.</exception>
    ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default);

    /// <summary>Checks that the peer is alive.</summary>
    /// <param name="self">The caller's node id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The peer's node id and assertion count.</returns>
    ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default);

    /// <summary>
    /// Extension: returns up to <paramref name="maxLeaves"/> of the peer's leaves strictly after
    /// <paramref name="startAfter"/>. A v1 peer ignores the cursor and answers from its first leaf; callers
    /// detect that (the first leaf returned is not after the cursor) and stop paging.
    /// </summary>
    /// <param name="maxLeaves">Maximum number of leaves (the peer caps it at 10,000).</param>
    /// <param name="startAfter">The exclusive cursor, or <see langword="null"/> for the first page.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page and whether more leaves follow it.</returns>
    /// <remarks>The default implementation models a v1 peer: it calls <see cref="GetLeavesAsync(uint, CancellationToken)"/>, ignoring the cursor.</remarks>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The cursor overload is a wire extension; both keep the usual optional CancellationToken.")]
    ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default) =>
        GetLeavesAsync(maxLeaves, cancellationToken);

    /// <summary>Extension: runs one round of set reconciliation with the peer (docs/PROTOCOL.md, "Reconcile").</summary>
    /// <param name="request">The round.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The peer's answer (unverified).</returns>
    /// <exception cref="SyncPeerException">The peer does not implement the extension (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation) or the call failed.</exception>
    internal ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken = default) =>
        throw new SyncPeerException(SyncStatusCode.Unimplemented, $"Peer '{Name}' does not implement Reconcile.");

    /// <summary>Extension: pushes up to 1,000 assertions in one call.</summary>
    /// <param name="records">The assertions.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One result per assertion, in order.</returns>
    /// <exception cref="ArgumentException">More than <see cref="SyncProtocol.MaxGossipBatch"/> assertions; thrown before any call.</exception>
    /// <exception cref="SyncPeerException">The peer does not implement the extension (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation) or the call failed.</exception>
    ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default) =>
        throw new SyncPeerException(SyncStatusCode.Unimplemented, $"Peer '{Name}' does not implement GossipBatch.");

    /// <summary>Extension: opens a <c>ReconcileSymbols</c> stream to the peer (docs/PROTOCOL.md, "ReconcileSymbols").</summary>
    /// <param name="cancellationToken">Cancels opening the stream.</param>
    /// <returns>The open stream; the caller disposes it.</returns>
    /// <exception cref="SyncPeerException">The peer does not implement the extension (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation; a transport may also report it at the first exchange) or the call failed.</exception>
    internal ValueTask<IReconcileSymbolsCall> OpenReconcileSymbolsAsync(CancellationToken cancellationToken = default) =>
        throw new SyncPeerException(SyncStatusCode.Unimplemented, $"Peer '{Name}' does not implement ReconcileSymbols.");

    /// <summary>Extension: one message of the <c>Broadcast</c> extension (docs/PROTOCOL.md, "Broadcast").</summary>
    /// <param name="request">The message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The peer's answer (unverified).</returns>
    /// <exception cref="SyncPeerException">The peer does not implement the extension (<see cref="SyncStatusCode.Unimplemented"/>, the default implementation) or the call failed.</exception>
    internal ValueTask<BroadcastResponse> BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken) =>
        throw new SyncPeerException(SyncStatusCode.Unimplemented, $"Peer '{Name}' does not implement Broadcast.");

    /// <summary>
    /// Extension: reads the peer's assertions in ascending hash order, strictly after <paramref name="startAfter"/>, as one
    /// assertion stream (docs/STREAM-FORMAT.md) in chunks (docs/PROTOCOL.md, "StreamAssertions").
    /// </summary>
    /// <param name="startAfter">The exclusive cursor, or <see langword="null"/> to start at the first assertion.</param>
    /// <param name="maxRecords">The most records wanted; 0 for all.</param>
    /// <param name="cancellationToken">Cancels the call, also while it is being enumerated.</param>
    /// <returns>The chunks as they arrive (unverified), each valid until the enumerator moves on. The next chunk is asked
    /// for only when the caller moves on, so a slow caller holds the peer back (the transport's flow control).</returns>
    /// <exception cref="SyncPeerException">The peer does not implement the extension (<see cref="SyncStatusCode.Unimplemented"/>;
    /// the default implementation throws it when called) or the call failed, when called or while enumerating.</exception>
    IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(AssertionHash? startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
        throw new SyncPeerException(SyncStatusCode.Unimplemented, $"Peer '{Name}' does not implement StreamAssertions.");
}
