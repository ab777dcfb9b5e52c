using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>What the engine has learned about a peer's support of the extensions; a v1 peer is detected once and remembered.</summary>
internal sealed class PeerCapabilities
{
    private volatile bool _noReconcile;
    private volatile bool _noPaging;
    private volatile bool _noGossipBatch;

    public bool NoReconcile { get => _noReconcile; set => _noReconcile = value; }

    public bool NoPaging { get => _noPaging; set => _noPaging = value; }

    public bool NoGossipBatch { get => _noGossipBatch; set => _noGossipBatch = value; }

    /// <summary>
    /// Both sides' roots and counts at the start of the last pass whose complete diff found the two sets equal, or
    /// <see langword="null"/>. Sets only grow, so while both summaries are unchanged the sets are still equal, even
    /// with a peer whose root scheme differs from ours (a v1 node): the next pass can skip the leaf listing.
    /// </summary>
    public ConvergedSummaries? Converged { get => Volatile.Read(ref _converged); set => Volatile.Write(ref _converged, value); }

    private ConvergedSummaries? _converged;
}

/// <summary>The local and remote root summaries of a pass that found both sets equal.</summary>
internal sealed record ConvergedSummaries(RootSummary Local, RootSummary Remote);

/// <summary>The outcome of a bulk push.</summary>
internal readonly record struct PushOutcome(int Pushed, long BytesSent, int Calls, int Rejected);

/// <summary>
/// The anti-entropy steps that use the extensions when the peer has them: Reconcile (falling back to paged
/// GetLeaves, falling back to one v1 page) and batched push with flow control (falling back to unary Gossip).
/// </summary>
internal static class ExtendedSync
{
    /// <summary>How many GossipBatch calls may be in flight to one peer: a slow receiver holds the sender here.</summary>
    public const int PushWindow = 2;

    /// <summary>The most assertion bytes one batch carries, leaving headroom under the 4 MiB default message limit.</summary>
    public const int MaxBatchBytes = 3 * 1024 * 1024;

    /// <summary>
    /// A pager that sends the cursor and stops paging for good when the peer ignores it (a v1 peer). The v1 contract
    /// does not promise an order for <c>GetLeaves</c>: a first page that is not strictly ascending is sorted (and
    /// duplicates dropped) here, <paramref name="unordered"/> is set, and no cursor is sent to that peer again.
    /// </summary>
    public static RemoteLeafPager PagedPager(
        ISyncPeer peer, PeerCapabilities capabilities, int maxLeaves, Func<CancellationToken, CallDeadline> deadline, StrongBox<bool>? unordered = null)
    {
        return async (startAfter, cancellationToken) =>
        {
            if (startAfter is { } cursor && capabilities.NoPaging)
            {
                return null;
            }

            LeavesPage page;
            using (CallDeadline call = deadline(cancellationToken))
            {
                page = startAfter is null
                    ? await peer.GetLeavesAsync((uint)maxLeaves, call.Token).ConfigureAwait(false)
                    : await peer.GetLeavesAsync((uint)maxLeaves, startAfter, call.Token).ConfigureAwait(false);
            }

            if (startAfter is null && page.Leaves is { Count: > 1 } first && !IsStrictlyAscending(first))
            {
                capabilities.NoPaging = true; // our nodes always answer in order: this is a v1 node's own order
                if (unordered is not null)
                {
                    unordered.Value = true;
                }

                var sorted = new SortedSet<AssertionHash>(first);
                return new LeavesPage(new List<AssertionHash>(sorted), page.Truncated);
            }

            if (startAfter is { } after && page.Leaves is { Count: > 0 } leaves && (leaves[0] <= after || !IsStrictlyAscending(leaves)))
            {
                capabilities.NoPaging = true; // the cursor was ignored: v1 limits from here on
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

    /// <summary>Finds what each side lacks: Reconcile when the peer has it, paged leaves otherwise or when Reconcile gives up.</summary>
    public static async ValueTask<DiffResult> DiffAsync(
        MerkleIndex local,
        ISyncPeer peer,
        PeerCapabilities capabilities,
        int maxLeaves,
        Func<CancellationToken, CallDeadline> deadline,
        CancellationToken cancellationToken,
        Func<ulong>? newSalt = null)
    {
        int roundTrips = 0;
        if (!capabilities.NoReconcile)
        {
            try
            {
                ReconcileResult result = await SetReconciler.ReconcileCoreAsync(
                    local,
                    async (request, ct) =>
                    {
                        roundTrips++;
                        using CallDeadline call = deadline(ct);
                        return await peer.ReconcileAsync(request, call.Token).ConfigureAwait(false);
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
                capabilities.NoReconcile = true;
            }
        }

        var unordered = new StrongBox<bool>();
        DiffResult diff = await DiffEngine.ComputeAsync(
            local, PagedPager(peer, capabilities, maxLeaves, deadline, unordered), DiffEngine.DefaultLocalPageSize, cancellationToken).ConfigureAwait(false);
        if (unordered.Value && !diff.Complete)
        {
            // A truncated page in the peer's own order is some of its leaves, not a prefix: what it lacks cannot be
            // told from it (gossip delivers our new assertions), but what it holds and we lack can be fetched.
            diff = diff with { MissingRemotely = Array.Empty<AssertionHash>() };
        }

        return diff with { RemotePages = diff.RemotePages + roundTrips };
    }

    /// <summary>
    /// Pushes the records for <paramref name="hashes"/> to the peer: GossipBatch calls of at most 1,000 assertions
    /// and <see cref="MaxBatchBytes"/>, at most <see cref="PushWindow"/> in flight, so memory stays bounded and a slow
    /// receiver slows the sender; unary Gossip against a peer without GossipBatch.
    /// </summary>
    public static async ValueTask<PushOutcome> PushAsync(
        IAssertionStore store,
        ISyncPeer peer,
        PeerCapabilities capabilities,
        IReadOnlyList<AssertionHash> hashes,
        Func<CancellationToken, CallDeadline> deadline,
        Action<AssertionHash, string>? onRejected,
        CancellationToken cancellationToken)
    {
        int pushed = 0, calls = 0, rejected = 0;
        long bytes = 0;
        var inFlight = new Queue<(Task<IReadOnlyList<GossipResult>> Call, AssertionRecord[] Batch)>();
        var pending = new List<AssertionRecord>();
        long pendingBytes = 0;

        async Task<IReadOnlyList<GossipResult>> SendBatchAsync(AssertionRecord[] batch)
        {
            using CallDeadline call = deadline(cancellationToken);
            return await peer.GossipBatchAsync(batch, call.Token).ConfigureAwait(false);
        }

        async ValueTask SendUnaryAsync(IReadOnlyList<AssertionRecord> batch)
        {
            foreach (AssertionRecord record in batch)
            {
                GossipResult result;
                using (CallDeadline call = deadline(cancellationToken))
                {
                    result = await peer.GossipAsync(record, call.Token).ConfigureAwait(false);
                }

                calls++;
                Count(record, result);
            }
        }

        void Count(AssertionRecord record, GossipResult result)
        {
            if (result.Accepted)
            {
                pushed++;
                bytes += record.Data.Length;
            }
            else
            {
                rejected++;
                onRejected?.Invoke(record.Hash, result.Error);
            }
        }

        async ValueTask CompleteOldestAsync()
        {
            (Task<IReadOnlyList<GossipResult>> task, AssertionRecord[] batch) = inFlight.Dequeue();
            IReadOnlyList<GossipResult> results;
            try
            {
                results = await task.ConfigureAwait(false);
            }
            catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.Unimplemented)
            {
                capabilities.NoGossipBatch = true;
                await SendUnaryAsync(batch).ConfigureAwait(false);
                return;
            }

            calls++;
            if (results is null || results.Count != batch.Length)
            {
                // An answer outside the protocol: the extension is unusable with this peer. Pushes are idempotent, so
                // the batch goes again as unary Gossip, and so does every later one.
                capabilities.NoGossipBatch = true;
                await SendUnaryAsync(batch).ConfigureAwait(false);
                return;
            }

            for (int i = 0; i < batch.Length; i++)
            {
                Count(batch[i], results[i]);
            }
        }

        async ValueTask FlushAsync()
        {
            if (pending.Count == 0)
            {
                return;
            }

            AssertionRecord[] batch = pending.ToArray();
            pending.Clear();
            pendingBytes = 0;
            if (capabilities.NoGossipBatch)
            {
                await SendUnaryAsync(batch).ConfigureAwait(false);
                return;
            }

            // Until the peer has answered one batch, send one at a time: a v1 peer costs one refused call.
            int window = calls == 0 ? 1 : PushWindow;
            while (inFlight.Count >= window)
            {
                await CompleteOldestAsync().ConfigureAwait(false);
            }

            if (capabilities.NoGossipBatch)
            {
                await SendUnaryAsync(batch).ConfigureAwait(false);
                return;
            }

            inFlight.Enqueue((SendBatchAsync(batch), batch));
        }

        try
        {
            for (int start = 0; start < hashes.Count; start += SyncProtocol.MaxFetchHashes)
            {
                var chunk = new AssertionHash[Math.Min(SyncProtocol.MaxFetchHashes, hashes.Count - start)];
                for (int i = 0; i < chunk.Length; i++)
                {
                    chunk[i] = hashes[start + i];
                }

                IReadOnlyList<AssertionRecord> records = await store.GetManyAsync(chunk, cancellationToken).ConfigureAwait(false);
                foreach (AssertionRecord record in records)
                {
                    if (pending.Count > 0 && (pending.Count == SyncProtocol.MaxGossipBatch || pendingBytes + record.Data.Length > MaxBatchBytes))
                    {
                        await FlushAsync().ConfigureAwait(false);
                    }

                    pending.Add(record);
                    pendingBytes += record.Data.Length;
                }
            }

            await FlushAsync().ConfigureAwait(false);
            while (inFlight.Count > 0)
            {
                await CompleteOldestAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            // On failure, observe the calls still in flight so none faults unobserved.
            while (inFlight.Count > 0)
            {
                (Task<IReadOnlyList<GossipResult>> task, _) = inFlight.Dequeue();
                try
                {
                    await task.ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The first failure is already propagating.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }
        }

        return new PushOutcome(pushed, bytes, calls, rejected);
    }
}
