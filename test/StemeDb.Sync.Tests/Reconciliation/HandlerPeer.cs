using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Reconciliation;

/// <summary>
/// An in-process peer over a node's request handler, with each extension switchable: a disabled extension behaves
/// as on a v1 node (Reconcile, ReconcileSymbols and GossipBatch refused as unimplemented, the GetLeaves cursor
/// ignored). ReconcileSymbols is off unless asked for (a peer of the version before it). Counts calls.
/// </summary>
internal sealed class HandlerPeer : ISyncPeer
{
    private readonly ISyncRequestHandler _handler;
    private int _reconcileCalls;
    private int _batchCalls;
    private int _gossipCalls;
    private int _leavesCalls;
    private int _symbolsExchanges;
    private int _symbolsOpened;

    public HandlerPeer(ISyncRequestHandler handler, string name = "peer")
    {
        _handler = handler;
        Name = name;
    }

    public string Name { get; }

    public bool Reconcile { get; init; } = true;

    public bool Paging { get; init; } = true;

    public bool Batch { get; init; } = true;

    /// <summary>Whether the peer answers ReconcileSymbols (off by default: the tests of the other methods use a peer without it).</summary>
    public bool Symbols { get; init; }

    /// <summary>When set, every ReconcileSymbols answer passes through it (a peer answering outside the protocol).</summary>
    public Func<ReconcileSymbolsRequest, ReconcileSymbolsResponse, ReconcileSymbolsResponse>? TamperSymbols { get; init; }

    /// <summary>Awaited before each symbols exchange is answered (a peer that takes its time).</summary>
    public Func<CancellationToken, Task>? BeforeSymbols { get; init; }

    public int SymbolsExchanges => Volatile.Read(ref _symbolsExchanges);

    public int SymbolsOpened => Volatile.Read(ref _symbolsOpened);

    /// <summary>
    /// When set, the root the peer reports in <c>ExchangeRoots</c> is this function of its real one (a node on another
    /// root version, or another root scheme): it never matches the caller's.
    /// </summary>
    public Func<AssertionHash, AssertionHash>? OtherRootVersion { get; init; }

    /// <summary>Awaited before each unary gossip is handled (to hold the sender).</summary>
    public Func<Task>? BeforeGossip { get; init; }

    public int ReconcileCalls => Volatile.Read(ref _reconcileCalls);

    public int BatchCalls => Volatile.Read(ref _batchCalls);

    public int GossipCalls => Volatile.Read(ref _gossipCalls);

    public int LeavesCalls => Volatile.Read(ref _leavesCalls);

    public async ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _gossipCalls);
        if (BeforeGossip is { } hold)
        {
            await hold();
        }

        return await _handler.GossipAsync(ToMessage(record), cancellationToken);
    }

    public async ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken = default)
    {
        RootExchangeResult answer = await _handler.ExchangeRootsAsync(local.Root.ToArray(), (ulong)local.Count, cancellationToken);
        return OtherRootVersion is { } rootOf
            ? new RootExchangeResult(new RootSummary(rootOf(answer.Remote.Root), answer.Remote.Count), rootsMatch: false)
            : answer;
    }

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _leavesCalls);
        return _handler.GetLeavesAsync(maxLeaves, cancellationToken);
    }

    public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _leavesCalls);
        return Paging && startAfter is { } cursor
            ? _handler.GetLeavesAsync(maxLeaves, cursor.ToArray(), cancellationToken)
            : _handler.GetLeavesAsync(maxLeaves, cancellationToken);
    }

    public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        var raw = new ReadOnlyMemory<byte>[hashes.Count];
        for (int i = 0; i < raw.Length; i++)
        {
            raw[i] = hashes[i].ToArray();
        }

        return _handler.FetchAsync(raw, cancellationToken);
    }

    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken = default) =>
        _handler.PingAsync(self.ToArray(), cancellationToken);

    ValueTask<ReconcileRoundResponse> ISyncPeer.ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reconcileCalls);
        if (!Reconcile)
        {
            throw new SyncPeerException(SyncStatusCode.Unimplemented, "v1 node");
        }

        return _handler.ReconcileAsync(request, cancellationToken);
    }

    public ValueTask<IReadOnlyList<GossipResult>> GossipBatchAsync(IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _batchCalls);
        if (!Batch)
        {
            throw new SyncPeerException(SyncStatusCode.Unimplemented, "v1 node");
        }

        var messages = new GossipMessage[records.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = ToMessage(records[i]);
        }

        return _handler.GossipBatchAsync(messages, cancellationToken);
    }

    ValueTask<IReconcileSymbolsCall> ISyncPeer.OpenReconcileSymbolsAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _symbolsOpened);
        return Symbols
            ? new ValueTask<IReconcileSymbolsCall>(new SymbolsCall(this))
            : throw new SyncPeerException(SyncStatusCode.Unimplemented, "a node of an earlier version");
    }

    private static GossipMessage ToMessage(AssertionRecord record) => new(
        record.Hash.ToArray(), record.Data.ToArray(), record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.NodeId.ToArray());

    private sealed class SymbolsCall(HandlerPeer peer) : IReconcileSymbolsCall
    {
        public async ValueTask<ReconcileSymbolsResponse> ExchangeAsync(ReconcileSymbolsRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref peer._symbolsExchanges);
            if (peer.BeforeSymbols is { } before)
            {
                await before(cancellationToken);
            }

            ReconcileSymbolsResponse response;
            try
            {
                response = await peer._handler.ReconcileSymbolsAsync(request, cancellationToken);
            }
            catch (SyncRequestException ex)
            {
                throw new SyncPeerException(ex.Code, ex.Message, ex); // as a transport maps the status
            }

            return peer.TamperSymbols is { } tamper ? tamper(request, response) : response;
        }

        public ValueTask DisposeAsync() => default;
    }
}
