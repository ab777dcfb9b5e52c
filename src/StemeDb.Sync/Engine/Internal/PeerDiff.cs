using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Finds what each side lacks, with the best method the peer has: ReconcileSymbols, else Reconcile, else paged
/// <c>GetLeaves</c>, else one v1 page. What a peer lacks is learned once and kept in its <see cref="PeerSyncState"/>.
/// </summary>
internal static class PeerDiff
{
    /// <summary>
    /// Finds what each side lacks: ReconcileSymbols when the peer has it, then Reconcile, then paged leaves, each taking
    /// over when the one before is missing or gives up.
    /// </summary>
    /// <param name="local">The local leaf set.</param>
    /// <param name="peer">The peer.</param>
    /// <param name="maxLeaves">The leaf page size.</param>
    /// <param name="cancellationToken">Cancels the diff.</param>
    /// <param name="newSalt">Draws Reconcile's salts (seeded in simulations).</param>
    /// <param name="remoteCount">The peer's count from the root exchange, when known: a difference in counts too large for
    /// the symbols it keeps skips ReconcileSymbols for this pass (a fresh node's bootstrap, say), so that neither side starts
    /// keeping symbols for nothing.</param>
    /// <param name="useSymbols">Whether this node reconciles by symbols at all (<see cref="SyncNodeOptions.ReconcileSymbols"/>).</param>
    public static async ValueTask<DiffResult> DiffAsync(
        MerkleIndex local,
        PeerCalls peer,
        int maxLeaves,
        CancellationToken cancellationToken,
        Func<ulong>? newSalt = null,
        long? remoteCount = null,
        bool useSymbols = true)
    {
        int roundTrips = 0;
        if (useSymbols && peer.Capabilities.ReconcileSymbols && (remoteCount is not { } remote || SymbolsMayServe(local.Count, remote)))
        {
            ReconcileResult? result = await ReconcileSymbolsAsync(local, peer, cancellationToken).ConfigureAwait(false);
            if (result is not null)
            {
                roundTrips += result.RoundTrips;
                if (result.Status is ReconcileStatus.Identical or ReconcileStatus.Reconciled)
                {
                    return new DiffResult(result.MissingLocally, result.MissingRemotely, true, null, 0, roundTrips);
                }
            }
        }

        if (peer.Capabilities.Reconcile)
        {
            try
            {
                ReconcileResult result = await SetReconciler.ReconcileCoreAsync(
                    local,
                    (request, ct) =>
                    {
                        roundTrips++;
                        return peer.ReconcileAsync(request, ct);
                    },
                    cancellationToken,
                    newSalt).ConfigureAwait(false);
                if (result.Status is ReconcileStatus.Identical or ReconcileStatus.Reconciled)
                {
                    return new DiffResult(result.MissingLocally, result.MissingRemotely, true, null, 0, roundTrips);
                }
            }
            catch (SyncPeerException ex) when (ex.Code is SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse)
            {
                // A v1 peer (UNIMPLEMENTED), or one whose Reconcile answers are unusable (outside the protocol, e.g. a
                // test double returning empty answers): v1 leaves serve from here on. Nothing was stored from it.
                peer.Capabilities.Reconcile = false;
            }
        }

        var unordered = new StrongBox<bool>();
        DiffResult diff = await SortedDiff.ComputeAsync(
            local, Pager(peer, maxLeaves, unordered), SortedDiff.DefaultLocalPageSize, cancellationToken).ConfigureAwait(false);
        if (unordered.Value && !diff.Complete)
        {
            // A truncated page in the peer's own order is some of its leaves, not a prefix: what it lacks cannot be
            // told from it (gossip delivers our new assertions), but what it holds and we lack can be fetched.
            diff = diff with { MissingRemotely = Array.Empty<AssertionHash>() };
        }

        return diff with { RoundTrips = diff.RoundTrips + roundTrips };
    }

    /// <summary>
    /// Whether the symbols a peer of <paramref name="remoteCount"/> serves can decode at least the difference the counts
    /// prove, at about 1.5 symbols per difference. It keeps between half its target (about 0.3 per assertion) and all of
    /// it, or serves all 2^18 once its target is there (a peer of this version lifts its ceiling of 2^16 for the request);
    /// the half is assumed below that.
    /// </summary>
    internal static bool SymbolsMayServe(long localCount, long remoteCount)
    {
        int target = RibltSketch.TargetLength(remoteCount);
        long kept = target == RibltSketch.MaxLength ? target : Math.Max(RibltSketch.MinLength, target / 2);
        return Math.Abs(localCount - remoteCount) * 3 / 2 < kept;
    }

    /// <summary>
    /// Reconciles over one <c>ReconcileSymbols</c> stream. Returns <see langword="null"/> when the peer lacks the extension
    /// (learned for good) or answered outside it, or when it serves too few symbols for this difference (the next method
    /// takes over for this pass); a result that did not decode is returned for its round trips.
    /// </summary>
    private static async ValueTask<ReconcileResult?> ReconcileSymbolsAsync(MerkleIndex local, PeerCalls peer, CancellationToken cancellationToken)
    {
        using CallDeadline overall = peer.SymbolsExchangeDeadline(cancellationToken);
        try
        {
            IReconcileSymbolsCall call = await peer.OpenReconcileSymbolsAsync(overall.Token).ConfigureAwait(false);
            await using (call.ConfigureAwait(false))
            {
                return await SymbolReconciler.ReconcileCoreAsync(
                    local, (request, ct) => peer.ExchangeSymbolsAsync(call, request, ct), overall.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (overall.TimedOut(cancellationToken)
            && ex is OperationCanceledException or SyncPeerException { Code: SyncStatusCode.DeadlineExceeded or SyncStatusCode.Unavailable })
        {
            return null; // a peer that keeps the exchange going past its overall deadline: the next method, for this pass
        }
        catch (SyncPeerException ex) when (ex.Code is SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse)
        {
            // A v1 peer or one of an earlier version (UNIMPLEMENTED), or answers outside the protocol: Reconcile and
            // paged leaves serve from here on. Nothing was stored from it.
            peer.Capabilities.ReconcileSymbols = false;
            return null;
        }
        catch (SyncPeerException ex) when (ex.Code is SyncStatusCode.ResourceExhausted)
        {
            return null; // past the symbols the peer keeps (a large difference), or its guard's limits: the next method
        }
    }

    /// <summary>
    /// A pager that sends the cursor and stops paging for good when the peer ignores it (a v1 peer). The v1 contract
    /// does not promise an order for <c>GetLeaves</c>: a first page that is not strictly ascending is sorted (and
    /// duplicates dropped) here, <paramref name="unordered"/> is set, and no cursor is sent to that peer again.
    /// </summary>
    public static RemoteLeafPager Pager(PeerCalls peer, int maxLeaves, StrongBox<bool>? unordered = null)
    {
        return async (startAfter, cancellationToken) =>
        {
            if (startAfter is not null && !peer.Capabilities.Paging)
            {
                return null;
            }

            LeavesPage page = await peer.GetLeavesAsync(maxLeaves, startAfter, cancellationToken).ConfigureAwait(false);
            if (startAfter is null && page.Leaves is { Count: > 1 } first && !IsStrictlyAscending(first))
            {
                peer.Capabilities.Paging = false; // our nodes always answer in order: this is a v1 node's own order
                if (unordered is not null)
                {
                    unordered.Value = true;
                }

                var sorted = new SortedSet<AssertionHash>(first);
                return new LeavesPage(new List<AssertionHash>(sorted), page.Truncated);
            }

            if (startAfter is { } after && page.Leaves is { Count: > 0 } leaves && (leaves[0] <= after || !IsStrictlyAscending(leaves)))
            {
                peer.Capabilities.Paging = false; // the cursor was ignored: v1 limits from here on
                return null;
            }

            return page;
        };
    }

    private static bool IsStrictlyAscending(IReadOnlyList<AssertionHash> leaves)
    {
        for (int i = 1; i < leaves.Count; i++)
        {
            if (leaves[i - 1] >= leaves[i])
            {
                return false;
            }
        }

        return true;
    }
}
