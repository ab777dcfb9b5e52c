using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>The answers to one push of one or more assertions, and how many calls it took.</summary>
internal readonly record struct PushAnswer(GossipResult[] Results, int Calls);

/// <summary>
/// The engine's view of one peer: every call it makes, each under the per-call deadline
/// (<see cref="SyncNodeOptions.PeerCallTimeout"/>), and every answer checked against the protocol here, whatever the
/// transport (an <see cref="ISyncPeer"/> is untrusted; adapters only map messages). A call still running at its
/// deadline is cancelled through its token and fails with <see cref="SyncStatusCode.DeadlineExceeded"/>, however the
/// peer surfaced the cancellation. An answer outside the protocol fails the call with
/// <see cref="SyncStatusCode.InvalidResponse"/> before anything of it is used. Records themselves (hash, size, content, clock) are verified by
/// <see cref="IncomingAssertions"/>.
/// </summary>
internal sealed partial class PeerCalls
{
    /// <summary>The default of <see cref="SyncNodeOptions.MaxStreamPullDuration"/>.</summary>
    internal static readonly TimeSpan DefaultStreamDeadline = new SyncNodeOptions().MaxStreamPullDuration;

    private readonly TimeSpan _timeout;
    private readonly TimeSpan _streamDeadline;
    private readonly TimeProvider _timeProvider;

    public PeerCalls(ISyncPeer peer, TimeSpan timeout, TimeProvider timeProvider, TimeSpan? streamDeadline = null)
    {
        Peer = peer;
        _timeout = timeout;
        _timeProvider = timeProvider;
        _streamDeadline = streamDeadline ?? DefaultStreamDeadline;
    }

    /// <summary>
    /// The overall deadline of one <c>ReconcileSymbols</c> exchange, whatever its messages: twice the per-call deadline,
    /// which each message also has. An honest exchange takes a dozen messages and well under a second.
    /// </summary>
    public CallDeadline SymbolsExchangeDeadline(CancellationToken cancellationToken) => new(_timeout * 2, _timeProvider, cancellationToken);

    public ISyncPeer Peer { get; }

    public string Name => Peer.Name;

    public PeerSyncState Capabilities { get; } = new();

    public ValueTask<RootExchangeResult> ExchangeRootsAsync(RootSummary local, CancellationToken cancellationToken) =>
        CallAsync("ExchangeRoots", local, static (peer, local, token) => peer.ExchangeRootsAsync(local, token), cancellationToken);

    /// <summary>One page of leaves: the v1 call for the first page, the cursor extension after it. The order is the diff's to check.</summary>
    public async ValueTask<LeavesPage> GetLeavesAsync(int maxLeaves, AssertionHash? startAfter, CancellationToken cancellationToken)
    {
        LeavesPage page = await CallAsync(
            "GetLeaves",
            (MaxLeaves: (uint)maxLeaves, StartAfter: startAfter),
            static (peer, request, token) => request.StartAfter is null
                ? peer.GetLeavesAsync(request.MaxLeaves, token)
                : peer.GetLeavesAsync(request.MaxLeaves, request.StartAfter, token),
            cancellationToken).ConfigureAwait(false);

        if (page.Leaves is null)
        {
            throw InvalidResponse("GetLeaves", "the page carries no leaf list");
        }

        if (page.Leaves.Count > maxLeaves)
        {
            throw InvalidResponse("GetLeaves", $"{page.Leaves.Count} leaves were returned for a page of at most {maxLeaves}");
        }

        return page;
    }

    /// <summary>Fetches a batch; the answer may skip hashes, but holds no record that was not asked for, and none twice.</summary>
    public async ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(AssertionHash[] hashes, CancellationToken cancellationToken)
    {
        IReadOnlyList<AssertionRecord> records = await CallAsync(
            "FetchAssertions", hashes, static (peer, hashes, token) => peer.FetchAsync(hashes, token), cancellationToken).ConfigureAwait(false);

        if (records is null)
        {
            throw InvalidResponse("FetchAssertions", "the answer carries no record list");
        }

        if (records.Count > hashes.Length)
        {
            throw InvalidResponse("FetchAssertions", $"{records.Count} assertions were returned for {hashes.Length} hashes");
        }

        var requested = new HashSet<AssertionHash>(hashes);
        for (int i = 0; i < records.Count; i++)
        {
            if (records[i] is not { } record)
            {
                throw InvalidResponse("FetchAssertions", $"assertion {i} is null");
            }

            if (!requested.Remove(record.Hash))
            {
                throw InvalidResponse("FetchAssertions", $"assertion {i} ({record.Hash}) was not asked for, or was answered twice");
            }
        }

        return records;
    }

    public ValueTask<ReconcileRoundResponse> ReconcileAsync(ReconcileRoundRequest request, CancellationToken cancellationToken) =>
        CallAsync("Reconcile", request, static (peer, request, token) => peer.ReconcileAsync(request, token), cancellationToken);

    /// <summary>Opens a <c>ReconcileSymbols</c> stream (a peer returning none answers outside the protocol).</summary>
    public async ValueTask<IReconcileSymbolsCall> OpenReconcileSymbolsAsync(CancellationToken cancellationToken)
    {
        IReconcileSymbolsCall? call = await Peer.OpenReconcileSymbolsAsync(cancellationToken).ConfigureAwait(false);
        return call ?? throw InvalidResponse("ReconcileSymbols", "no stream was opened");
    }

    /// <summary>One exchange of an open <c>ReconcileSymbols</c> stream, under the per-call deadline; the reconciler checks the answer.</summary>
    public ValueTask<ReconcileSymbolsResponse> ExchangeSymbolsAsync(IReconcileSymbolsCall call, ReconcileSymbolsRequest request, CancellationToken cancellationToken) =>
        CallAsync("ReconcileSymbols", (Call: call, Request: request), static (_, a, token) => a.Call.ExchangeAsync(a.Request, token), cancellationToken);

    /// <summary>Pings the peer: its node id and count.</summary>
    public ValueTask<PingResult> PingAsync(NodeId self, CancellationToken cancellationToken) =>
        CallAsync("Ping", self, static (peer, self, token) => peer.PingAsync(self, token), cancellationToken);

    /// <summary>Pushes one assertion with unary <c>Gossip</c> (the live path when there is no backlog).</summary>
    public ValueTask<GossipResult> GossipAsync(AssertionRecord record, CancellationToken cancellationToken) =>
        CallAsync("Gossip", record, static (peer, record, token) => peer.GossipAsync(record, token), cancellationToken);

    /// <summary>
    /// Pushes assertions: one <c>GossipBatch</c> call when there are several and the peer has the extension, else
    /// unary <c>Gossip</c> one by one. The only v1 fallback: a peer that answers the batch <c>UNIMPLEMENTED</c> or
    /// outside the protocol loses the extension for good, and the batch goes again one by one (pushes are idempotent).
    /// </summary>
    public async ValueTask<PushAnswer> PushAsync(IReadOnlyList<AssertionRecord> batch, CancellationToken cancellationToken)
    {
        if (batch.Count > 1 && Capabilities.GossipBatch)
        {
            IReadOnlyList<GossipResult>? results = null;
            try
            {
                results = await CallAsync(
                    "GossipBatch", batch, static (peer, batch, token) => peer.GossipBatchAsync(batch, token), cancellationToken).ConfigureAwait(false);
            }
            catch (SyncPeerException ex) when (ex.Code is SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse)
            {
                Capabilities.GossipBatch = false; // a v1 peer, or one whose batch answers are unusable
            }

            if (results is not null)
            {
                if (results.Count == batch.Count)
                {
                    var copy = new GossipResult[batch.Count];
                    for (int i = 0; i < copy.Length; i++)
                    {
                        copy[i] = results[i];
                    }

                    return new PushAnswer(copy, 1);
                }

                Capabilities.GossipBatch = false; // an answer outside the protocol: one by one from here on
                PushAnswer again = await PushEachAsync(batch, cancellationToken).ConfigureAwait(false);
                return again with { Calls = again.Calls + 1 };
            }
        }

        return await PushEachAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One <c>Broadcast</c> message. The answer holds one result per pushed payload, a node id of 16 bytes (or none),
    /// and asks only for announced hashes, each once; anything else is outside the protocol.
    /// </summary>
    public async ValueTask<BroadcastResponse> BroadcastAsync(BroadcastRequest request, CancellationToken cancellationToken)
    {
        BroadcastResponse response = await CallAsync(
            "Broadcast", request, static (peer, request, token) => peer.BroadcastAsync(request, token), cancellationToken).ConfigureAwait(false);
        if (response?.Results is null || response.Want is null)
        {
            throw InvalidResponse("Broadcast", "the answer carries no result or want list");
        }

        if (response.Results.Count != request.Assertions.Count)
        {
            throw InvalidResponse("Broadcast", $"{response.Results.Count} results were returned for {request.Assertions.Count} pushed assertions");
        }

        if (response.NodeId.Length is not (0 or NodeId.Length))
        {
            throw InvalidResponse("Broadcast", $"the node id is {response.NodeId.Length} bytes, not {NodeId.Length}");
        }

        if (response.Want.Count > request.Announced.Count)
        {
            throw InvalidResponse("Broadcast", $"{response.Want.Count} hashes were asked for of {request.Announced.Count} announced");
        }

        if (response.Want.Count != 0)
        {
            var announced = new HashSet<AssertionHash>();
            foreach (ReadOnlyMemory<byte> hash in request.Announced)
            {
                announced.Add(new AssertionHash(hash.Span));
            }

            for (int i = 0; i < response.Want.Count; i++)
            {
                if (response.Want[i].Length != SyncProtocol.HashLength || !announced.Remove(new AssertionHash(response.Want[i].Span)))
                {
                    throw InvalidResponse("Broadcast", $"wanted hash {i} was not announced, or was asked for twice");
                }
            }
        }

        return response;
    }

    private async ValueTask<PushAnswer> PushEachAsync(IReadOnlyList<AssertionRecord> batch, CancellationToken cancellationToken)
    {
        var results = new GossipResult[batch.Count];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = await GossipAsync(batch[i], cancellationToken).ConfigureAwait(false);
        }

        return new PushAnswer(results, results.Length);
    }

    public override string ToString() => Name;

    /// <summary>
    /// One call under the per-call deadline. The peer sees one token, cancelled by the caller or at the deadline; when
    /// the deadline cancelled it, the call fails with <see cref="SyncStatusCode.DeadlineExceeded"/> (whether the peer
    /// threw <see cref="OperationCanceledException"/> or reported the cancelled call as <see cref="SyncStatusCode.Unavailable"/>), and the
    /// caller's own cancellation stays an <see cref="OperationCanceledException"/>.
    /// </summary>
    private async ValueTask<TResult> CallAsync<TRequest, TResult>(
        string rpc,
        TRequest request,
        Func<ISyncPeer, TRequest, CancellationToken, ValueTask<TResult>> invoke,
        CancellationToken cancellationToken)
    {
        using var call = new CallDeadline(_timeout, _timeProvider, cancellationToken);
        try
        {
            return await invoke(Peer, request, call.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (call.TimedOut(cancellationToken) && ex is OperationCanceledException or SyncPeerException { Code: SyncStatusCode.Unavailable })
        {
            throw new SyncPeerException(
                SyncStatusCode.DeadlineExceeded,
                $"{rpc} to {Name} did not complete within the per-call deadline ({_timeout}).",
                ex);
        }
    }

    private SyncPeerException InvalidResponse(string rpc, string what) =>
        new(SyncStatusCode.InvalidResponse, $"{rpc} to {Name} returned an answer outside the protocol: {what}.");
}
