using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Reads a peer's leaves page by page, in ascending order. The pager is called first with
/// <see langword="null"/> and then with the last leaf of the previous truncated page; a source that cannot
/// continue after a page (a v1 peer: GetLeaves has no cursor) returns <see langword="null"/>.
/// </summary>
internal delegate ValueTask<LeavesPage?> RemoteLeafPager(AssertionHash? startAfter, CancellationToken cancellationToken);

/// <summary>What each side lacks, as found by <see cref="SortedDiff"/>.</summary>
/// <param name="MissingLocally">Hashes the peer holds and this node lacks, ascending.</param>
/// <param name="MissingRemotely">Hashes this node holds and the peer lacks, ascending.</param>
/// <param name="Complete">Whether the peer's whole leaf set was compared.</param>
/// <param name="CoveredUpTo">When not complete: the last remote leaf seen; only hashes up to it were classified.</param>
/// <param name="RemoteLeavesSeen">How many remote leaves were read.</param>
/// <param name="RoundTrips">How many calls to the peer the diff made (leaf pages, reconciliation rounds and messages).</param>
internal sealed record DiffResult(
    IReadOnlyList<AssertionHash> MissingLocally,
    IReadOnlyList<AssertionHash> MissingRemotely,
    bool Complete,
    AssertionHash? CoveredUpTo,
    int RemoteLeavesSeen,
    int RoundTrips);

/// <summary>
/// Computes which hashes each side lacks by a merge walk over the local index (page by page) and the peer's
/// leaves (page by page), and plans the fetches. Independent of the transport.
/// </summary>
internal static class SortedDiff
{
    /// <summary>The page size used when walking the local index.</summary>
    public const int DefaultLocalPageSize = 4096;

    /// <summary>Compares the local index with the peer's leaves.</summary>
    /// <exception cref="SyncPeerException">The peer's pages are not strictly ascending, or a truncated page is empty.</exception>
    public static async ValueTask<DiffResult> ComputeAsync(
        MerkleIndex local,
        RemoteLeafPager remote,
        int localPageSize = DefaultLocalPageSize,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentOutOfRangeException.ThrowIfLessThan(localPageSize, 1);

        var missingLocally = new List<AssertionHash>();
        var missingRemotely = new List<AssertionHash>();
        var localCursor = new LocalCursor(local, localPageSize);
        AssertionHash? previousRemote = null;
        int seen = 0;
        int pages = 0;

        LeavesPage? page = await remote(null, cancellationToken).ConfigureAwait(false);
        while (page is { } current)
        {
            pages++;
            IReadOnlyList<AssertionHash> leaves = current.Leaves ?? Array.Empty<AssertionHash>();
            if (current.Truncated && leaves.Count == 0)
            {
                throw new SyncPeerException(SyncStatusCode.InvalidResponse, "The peer answered an empty leaves page marked truncated.");
            }

            for (int i = 0; i < leaves.Count; i++)
            {
                AssertionHash r = leaves[i];
                if (previousRemote is { } p && r <= p)
                {
                    throw new SyncPeerException(SyncStatusCode.InvalidResponse, $"The peer's leaves are not strictly ascending: {r} follows {p}.");
                }

                previousRemote = r;
                seen++;

                // Every local leaf below r is absent remotely.
                while (localCursor.TryPeek(out AssertionHash l) && l < r)
                {
                    missingRemotely.Add(l);
                    localCursor.Advance();
                }

                if (localCursor.TryPeek(out AssertionHash same) && same == r)
                {
                    localCursor.Advance();
                }
                else
                {
                    missingLocally.Add(r);
                }
            }

            if (!current.Truncated)
            {
                // The peer's set is exhausted: every remaining local leaf is absent remotely.
                while (localCursor.TryPeek(out AssertionHash l))
                {
                    missingRemotely.Add(l);
                    localCursor.Advance();
                }

                return new DiffResult(missingLocally, missingRemotely, true, null, seen, pages);
            }

            cancellationToken.ThrowIfCancellationRequested();
            page = await remote(previousRemote, cancellationToken).ConfigureAwait(false);
        }

        // The source cannot continue: local leaves above the last remote leaf are unclassified.
        return new DiffResult(missingLocally, missingRemotely, false, previousRemote, seen, pages);
    }

    /// <summary>Splits hashes into fetch batches of at most <paramref name="batchSize"/>, preserving order.</summary>
    public static IReadOnlyList<AssertionHash[]> PlanFetches(IReadOnlyList<AssertionHash> missing, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var batches = new List<AssertionHash[]>((missing.Count + batchSize - 1) / batchSize);
        for (int start = 0; start < missing.Count; start += batchSize)
        {
            var batch = new AssertionHash[Math.Min(batchSize, missing.Count - start)];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = missing[start + i];
            }

            batches.Add(batch);
        }

        return batches;
    }

    /// <summary>The hashes of <paramref name="batch"/> that <paramref name="answered"/> holds no record of, in order.</summary>
    public static AssertionHash[] LeftOut(AssertionHash[] batch, IReadOnlyList<AssertionRecord> answered)
    {
        if (answered.Count >= batch.Length)
        {
            return [];
        }

        var got = new HashSet<AssertionHash>(answered.Count);
        for (int i = 0; i < answered.Count; i++)
        {
            got.Add(answered[i].Hash);
        }

        var left = new List<AssertionHash>(batch.Length - answered.Count);
        foreach (AssertionHash hash in batch)
        {
            if (!got.Contains(hash))
            {
                left.Add(hash);
            }
        }

        return [.. left];
    }

    /// <summary>Walks the local index in ascending order, one page at a time.</summary>
    private sealed class LocalCursor
    {
        private readonly MerkleIndex _index;
        private readonly int _pageSize;
        private IReadOnlyList<AssertionHash> _page = Array.Empty<AssertionHash>();
        private int _position;
        private bool _exhausted;
        private AssertionHash? _last;

        public LocalCursor(MerkleIndex index, int pageSize)
        {
            _index = index;
            _pageSize = pageSize;
        }

        public bool TryPeek(out AssertionHash leaf)
        {
            if (_position == _page.Count && !_exhausted)
            {
                _page = _index.GetLeaves(_last, _pageSize);
                _position = 0;
                _exhausted = _page.Count < _pageSize;
                if (_page.Count > 0)
                {
                    _last = _page[^1];
                }
            }

            if (_position < _page.Count)
            {
                leaf = _page[_position];
                return true;
            }

            leaf = default;
            return false;
        }

        public void Advance() => _position++;
    }
}
