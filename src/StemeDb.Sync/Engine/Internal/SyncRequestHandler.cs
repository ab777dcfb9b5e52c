using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// The server side of the protocol over a node's store, index and clock: the v1 RPCs and every extension (paged leaves,
/// <c>Reconcile</c>, <c>ReconcileSymbols</c>, <c>GossipBatch</c>, <c>StreamAssertions</c>), with every length check,
/// limit and verification of incoming requests. Transport adapters translate to and from these calls only.
/// </summary>
internal sealed class SyncRequestHandler : ISyncRequestHandler
{
    private readonly bool _servesSymbols;
    private readonly int _maxAnswerBytes;
    private readonly NodeId _nodeId;
    private readonly NodeLifecycle _lifecycle;
    private readonly MerkleIndex _index;
    private readonly IAssertionStore _store;
    private readonly IncomingAssertions _incoming;
    private readonly BroadcastTree? _tree;
    private readonly Func<SyncNodeStatus>? _status;

    public SyncRequestHandler(
        NodeId nodeId,
        NodeLifecycle lifecycle,
        MerkleIndex index,
        IAssertionStore store,
        IncomingAssertions incoming,
        bool servesSymbols = true,
        int maxAnswerBytes = SyncProtocol.DefaultMaxAnswerBytes,
        BroadcastTree? tree = null,
        Func<SyncNodeStatus>? status = null)
    {
        _tree = tree;
        _status = status;
        _servesSymbols = servesSymbols;
        _maxAnswerBytes = maxAnswerBytes;
        _nodeId = nodeId;
        _lifecycle = lifecycle;
        _index = index;
        _store = store;
        _incoming = incoming;
    }

    /// <summary>The node's status, its peers cut to <see cref="SyncProtocol.MaxStatusPeers"/>; a handler without a node answers <c>UNIMPLEMENTED</c>.</summary>
    public ValueTask<StatusAnswer> GetStatusAsync(CancellationToken cancellationToken)
    {
        _lifecycle.EnsureServing();
        if (_status is null)
        {
            throw new SyncRequestException(SyncStatusCode.Unimplemented, "GetStatus is not implemented by this node.");
        }

        SyncNodeStatus status = _status();
        int total = status.Peers.Count;
        if (total > SyncProtocol.MaxStatusPeers)
        {
            status = new SyncNodeStatus
            {
                NodeId = status.NodeId,
                At = status.At,
                Count = status.Count,
                Root = status.Root,
                PendingGossip = status.PendingGossip,
                Peers = [.. System.Linq.Enumerable.Take(status.Peers, SyncProtocol.MaxStatusPeers)],
            };
        }

        return new ValueTask<StatusAnswer>(new StatusAnswer(status, total));
    }

    public async ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
        (await ReceivePushAsync(message, origin: null, cancellationToken).ConfigureAwait(false)).Result;

    /// <summary>One pushed payload, checked field by field, then handed to the receive path with the link it came on.</summary>
    private ValueTask<ReceivedPush> ReceivePushAsync(GossipMessage message, PeerEntry? origin, CancellationToken cancellationToken, bool pulled = false)
    {
        if (message.Hash.Length != SyncProtocol.HashLength)
        {
            return RejectPush($"assertion_hash must be {SyncProtocol.HashLength} bytes; got {message.Hash.Length}.");
        }

        // An absent hlc_node_id means the push carries no timestamp (hlc_time and hlc_counter are then ignored); the
        // node stamps the record itself. A present one must be a whole node id.
        if (message.HlcNodeId.Length != 0 && message.HlcNodeId.Length != SyncProtocol.NodeIdLength)
        {
            return RejectPush($"hlc_node_id must be {SyncProtocol.NodeIdLength} bytes (or empty); got {message.HlcNodeId.Length}.");
        }

        _lifecycle.EnsureServing();
        var hash = new AssertionHash(message.Hash.Span);
        HlcTimestamp timestamp = message.HlcNodeId.Length == 0
            ? HlcTimestamp.None
            : new HlcTimestamp(message.HlcTime, message.HlcCounter, new NodeId(message.HlcNodeId.Span));
        return _incoming.ReceivePushAsync(hash, message.Data, timestamp, origin, cancellationToken, pulled);
    }

    private ValueTask<ReceivedPush> RejectPush(string reason) => new(new ReceivedPush(_incoming.Reject(reason), false));

    /// <summary>
    /// One <c>Broadcast</c> message (docs/PROTOCOL.md, "Broadcast"): every field checked before anything is done; then
    /// the payloads are received as pushed, on the sender's link (nothing goes back on it), and the announced hashes
    /// this node lacks and waits for from no one else are asked for. A payload already held prunes the link (the answer
    /// says so, and this node's own link to the sender becomes lazy); otherwise a new one makes this node's link to the
    /// sender eager, so that the tree carries payloads both ways.
    /// </summary>
    public async ValueTask<BroadcastResponse> BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken)
    {
        if (_tree is null)
        {
            throw new SyncRequestException(SyncStatusCode.Unimplemented, "Broadcast is not implemented by this node.");
        }

        CheckBroadcast(request);
        _lifecycle.EnsureServing();
        PeerEntry? link = _tree.LinkOf(request.SenderNodeId.Span);

        var results = new GossipResult[request.Assertions.Count];
        bool duplicate = false, delivered = false;
        for (int i = 0; i < results.Length; i++)
        {
            GossipMessage message = request.Assertions[i];
            bool onTree = message.Hash.Length != SyncProtocol.HashLength || _tree.Arrived(new AssertionHash(message.Hash.Span));
            ReceivedPush push = await ReceivePushAsync(message, link, cancellationToken, pulled: !onTree).ConfigureAwait(false);
            results[i] = push.Result;
            if (push.Result.Accepted && !push.Added)
            {
                duplicate |= _tree.IsRedundant(new AssertionHash(message.Hash.Span));
            }
            else if (push.Added)
            {
                delivered |= onTree;
            }
        }

        IReadOnlyList<ReadOnlyMemory<byte>> want = Array.Empty<ReadOnlyMemory<byte>>();
        bool graft = false;
        if (request.Announced.Count != 0)
        {
            SyncDiagnostics.BroadcastAnnounced.Add(request.Announced.Count, SyncDiagnostics.Tag("direction", "received"));
            (want, graft) = _tree.Want(request.Announced, onTree: request.Eager);
            SyncDiagnostics.BroadcastWanted.Add(want.Count, SyncDiagnostics.Tag("direction", "sent"));
        }

        if (link is not null)
        {
            link.Calls.Capabilities.InView = true;
        }

        // Both ends of a link follow the same rules: a duplicate prunes it, a first delivery on the tree (or a graft)
        // makes it eager. A payload pulled through a lazy link leaves it lazy.
        if (link is not null && (duplicate || delivered || graft))
        {
            link.Calls.Capabilities.Eager = !duplicate;
        }

        return new BroadcastResponse(_tree.SelfBytes, results, want, Prune: duplicate, Graft: graft);
    }

    private static void CheckBroadcast(BroadcastRequest request)
    {
        if (request?.Assertions is null || request.Announced is null)
        {
            throw new SyncRequestException(SyncStatusCode.InvalidArgument, "The broadcast message carries no lists.");
        }

        if (request.SenderNodeId.Length is not (0 or SyncProtocol.NodeIdLength))
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument, $"sender_node_id must be {SyncProtocol.NodeIdLength} bytes (or empty); got {request.SenderNodeId.Length}.");
        }

        if (request.Assertions.Count > SyncProtocol.MaxGossipBatch)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument, $"A broadcast message carries at most {SyncProtocol.MaxGossipBatch} assertions; got {request.Assertions.Count}.");
        }

        CheckHashes("announced", request.Announced);
    }

    private static void CheckHashes(string field, IReadOnlyList<ReadOnlyMemory<byte>> hashes)
    {
        if (hashes.Count > BroadcastLimits.MaxHashes)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument, $"A broadcast message carries at most {BroadcastLimits.MaxHashes} {field} hashes; got {hashes.Count}.");
        }

        for (int i = 0; i < hashes.Count; i++)
        {
            if (hashes[i].Length != SyncProtocol.HashLength)
            {
                throw new SyncRequestException(
                    SyncStatusCode.InvalidArgument, $"{field} hash #{i} is {hashes[i].Length} bytes; hashes are {SyncProtocol.HashLength} bytes.");
            }
        }
    }

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default)
    {
        if (callerRoot.Length != 0 && callerRoot.Length != SyncProtocol.HashLength)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument,
                $"merkle_root must be {SyncProtocol.HashLength} bytes (or empty); got {callerRoot.Length}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        _lifecycle.EnsureServing();
        var local = new RootSummary(_index.Root, _index.Count);
        bool match = callerRoot.Length == SyncProtocol.HashLength && new AssertionHash(callerRoot.Span) == local.Root;
        return new ValueTask<RootExchangeResult>(new RootExchangeResult(local, match));
    }

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
        GetLeavesAsync(maxLeaves, ReadOnlyMemory<byte>.Empty, cancellationToken);

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default)
    {
        AssertionHash? cursor = Cursor(startAfter);
        cancellationToken.ThrowIfCancellationRequested();
        _lifecycle.EnsureServing();
        int cap = SyncProtocol.LeavesPerPage(maxLeaves);

        // Ask for one more than the cap: "truncated" is then exact.
        IReadOnlyList<AssertionHash> leaves = _index.GetLeaves(cursor, cap + 1);
        bool truncated = leaves.Count > cap;
        if (truncated)
        {
            var page = new AssertionHash[cap];
            for (int i = 0; i < cap; i++)
            {
                page[i] = leaves[i];
            }

            leaves = page;
        }

        return new ValueTask<LeavesPage>(new LeavesPage(leaves, truncated));
    }

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default)
    {
        if (hashes is null)
        {
            throw new SyncRequestException(SyncStatusCode.InvalidArgument, "The fetch request carries no hash list.");
        }

        if (hashes.Count > SyncProtocol.MaxFetchHashes)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument,
                $"A fetch asks for at most {SyncProtocol.MaxFetchHashes} hashes; got {hashes.Count}.");
        }

        // Each hash once, in the order first asked: a request that names one hash a thousand times gets one record.
        var parsed = new List<AssertionHash>(hashes.Count);
        var seen = new HashSet<AssertionHash>(hashes.Count);
        for (int i = 0; i < hashes.Count; i++)
        {
            if (!AssertionHash.TryCreate(hashes[i].Span, out AssertionHash hash))
            {
                throw new SyncRequestException(
                    SyncStatusCode.InvalidArgument,
                    $"Fetch hash #{i} is {hashes[i].Length} bytes; hashes are {SyncProtocol.HashLength} bytes.");
            }

            if (seen.Add(hash))
            {
                parsed.Add(hash);
            }
        }

        _lifecycle.EnsureServing();
        return ServeFetchAsync(parsed, cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default)
    {
        if (callerNodeId.Length != 0 && callerNodeId.Length != SyncProtocol.NodeIdLength)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument,
                $"node_id must be {SyncProtocol.NodeIdLength} bytes (or empty); got {callerNodeId.Length}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        _lifecycle.EnsureServing();
        return new ValueTask<PingResult>(new PingResult(_nodeId, _index.Count));
    }

    public ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _lifecycle.EnsureServing();
        return new ValueTask<ReconcileRoundResponse>(SetReconciler.Respond(_index, request));
    }

    public ValueTask<ReconcileSymbolsResponse> ReconcileSymbolsAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_servesSymbols)
        {
            throw new SyncRequestException(SyncStatusCode.Unimplemented, "ReconcileSymbols is turned off on this node (SyncNodeOptions.ReconcileSymbols).");
        }

        _lifecycle.EnsureServing();
        return new ValueTask<ReconcileSymbolsResponse>(SymbolReconciler.Respond(_index, request));
    }

    public async ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<GossipMessage> messages, CancellationToken cancellationToken = default)
    {
        if (messages is null)
        {
            throw new SyncRequestException(SyncStatusCode.InvalidArgument, "The gossip batch carries no list.");
        }

        if (messages.Count > SyncProtocol.MaxGossipBatch)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument,
                $"A gossip batch carries at most {SyncProtocol.MaxGossipBatch} assertions; got {messages.Count}.");
        }

        _lifecycle.EnsureServing();
        var results = new GossipResult[messages.Count];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = await GossipAsync(messages[i], cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default)
    {
        AssertionHash? cursor = Cursor(startAfter);
        cancellationToken.ThrowIfCancellationRequested();
        _lifecycle.EnsureServing();
        return AssertionStreamChunks.ReadAsync(_index, _store, cursor, maxRecords, _maxAnswerBytes, cancellationToken);
    }

    /// <summary>A request's <c>start_after</c>: empty for none, else a whole hash.</summary>
    /// <exception cref="SyncRequestException">Any other length (<see cref="SyncStatusCode.InvalidArgument"/>).</exception>
    private static AssertionHash? Cursor(ReadOnlyMemory<byte> startAfter)
    {
        if (startAfter.Length != 0 && startAfter.Length != SyncProtocol.HashLength)
        {
            throw new SyncRequestException(
                SyncStatusCode.InvalidArgument,
                $"start_after must be {SyncProtocol.HashLength} bytes (or empty); got {startAfter.Length}.");
        }

        return startAfter.Length == 0 ? null : new AssertionHash(startAfter.Span);
    }

    private ValueTask<GossipResult> Reject(string reason) => new(_incoming.Reject(reason));

    private async ValueTask<IReadOnlyList<AssertionRecord>> ServeFetchAsync(List<AssertionHash> hashes, CancellationToken cancellationToken)
    {
        // Bounded before it is read: the store stops at the answer budget; what it leaves out is absent, as v1 allows.
        IReadOnlyList<AssertionRecord> records = await _store.GetManyWithinAsync(hashes, _maxAnswerBytes, cancellationToken).ConfigureAwait(false);
        long bytes = 0;
        for (int i = 0; i < records.Count; i++)
        {
            bytes += records[i].Data.Length;
        }

        SyncDiagnostics.BytesSent.Add(bytes, SyncDiagnostics.Tag("kind", "fetch"));
        return records;
    }
}
