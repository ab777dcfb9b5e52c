using System;
using System.Collections.Generic;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync;

/// <summary>
/// The set of assertion hashes a node holds, with a history-independent Merkle root, ordered paging of
/// the leaves and fingerprints of any range of the hash order. Specified in docs/PROTOCOL.md
/// ("Merkle index and root"). Thread-safe: concurrent inserts and readers.
/// </summary>
/// <remarks>
/// <para>
/// The root (version 2) is that of the binary Patricia (crit-bit) trie of the set, whose shape depends only on the
/// set, so the root is the same for the same set whatever the insertion order. A leaf is its own value; each inner node
/// hashes its children's 64 bytes in BLAKE3's derive-key mode (one compression), and the empty set has a derive-key
/// root of its own (<see cref="EmptyRoot"/>).
/// </para>
/// <para>
/// Layout and costs with n leaves (uniformly distributed, as BLAKE3 hashes are): the leaves are kept sorted in
/// buckets of about 8 to 16 selected by their first log2(n/16) bits, under a complete binary tree of cached subtree
/// hashes and sums. <see cref="Add"/> and <see cref="Contains"/> search one small bucket (an insert that doubles the
/// count past a step also splits every bucket, O(n) once, so inserts cost O(1) amortized); reading <see cref="Root"/>
/// rehashes only what changed since the last read (for one insert: its bucket and one node per level, O(log n));
/// <see cref="GetRangeFingerprint"/> takes O(log n) and <see cref="GetLeaves"/> O(log n + max). Leaves crafted to
/// share long prefixes gather in one bucket, which beyond 256 leaves becomes a crit-bit trie, so that no path is
/// longer than 256 inner nodes and every operation stays bounded whatever the leaves. Memory is about 53 bytes per
/// leaf at a million leaves (up to 97 just after the buckets split), with no object per leaf.
/// </para>
/// <para>
/// Operations are serialized by one internal lock; <see cref="Count"/> when no deferred leaf waits, and
/// <see cref="Root"/> when no leaf was added since it was last read, read without it. The sync node adds the leaves
/// it ingests through a deferred insert: they are sorted and merged into the buckets together (one merge per
/// bucket), when an eighth to a quarter as many have gathered as the index holds, or before the next read, which
/// always sees them. While they gather they take up to 8 more bytes per leaf, and as much again for the buffer that
/// sorts them during a bulk load (a read's merge gives that memory back); a read may wait for the merge of up to 2^20
/// of them.
/// </para>
/// </remarks>
internal sealed class MerkleIndex
{
    /// <summary>The fewest deferred leaves held before they are merged (unless a read comes first).</summary>
    internal const int MinDeferred = DeferredLeaves.MinDeferred;

    /// <summary>The most deferred leaves held before they are merged, whatever the count (bounds the merge a read may wait for).</summary>
    internal const int MaxDeferred = DeferredLeaves.MaxDeferred;

    private readonly BucketedTrie _trie = new();
    private readonly List<Key256> _fresh = new();

    // The rateless coded symbols, made on the first read of them (from every leaf), kept up to date from then on.
    private readonly SymbolSource _symbols;
    private readonly object _gate = new();
    private volatile int _count;

    // Leaves added by AddDeferred and not yet in the trie. Every read merges them first, so that no reader ever sees
    // the index without them.
    private readonly DeferredLeaves _deferred = new();
    private volatile bool _hasDeferred;

    // The root as of the last read with no insert since, or null: lets clean reads skip the lock.
    private volatile RootSnapshot? _cleanRoot;

    /// <summary>Makes an empty index.</summary>
    public MerkleIndex() => _symbols = new SymbolSource(_trie);

    /// <summary>The root of the empty set: BLAKE3 in derive-key mode of the empty input under its own context (docs/PROTOCOL.md).</summary>
    public static AssertionHash EmptyRoot { get; } = MerkleHashing.EmptyRoot.ToHash();

    /// <summary>The number of leaves.</summary>
    public int Count
    {
        get
        {
            if (_hasDeferred)
            {
                lock (_gate)
                {
                    MergeDeferredLocked();
                }
            }

            return _count;
        }
    }

    /// <summary>The Merkle root of the current set (<see cref="EmptyRoot"/> when empty).</summary>
    /// <remarks>Rehashes only the nodes changed since the last read: O(log n) per insert in between.</remarks>
    public AssertionHash Root
    {
        get
        {
            if (_cleanRoot is { } snapshot)
            {
                return snapshot.Root;
            }

            lock (_gate)
            {
                MergeDeferredLocked(hashBuckets: true);
                AssertionHash root = _trie.Root.ToHash();
                _cleanRoot = new RootSnapshot(root);
                return root;
            }
        }
    }

    /// <summary>Adds a leaf; idempotent.</summary>
    /// <param name="leaf">The hash.</param>
    /// <returns><see langword="true"/> if the leaf was new.</returns>
    public bool Add(AssertionHash leaf)
    {
        var key = Key256.FromHash(leaf);
        lock (_gate)
        {
            MergeDeferredLocked();
            if (!_trie.Add(key))
            {
                return false;
            }

            _symbols.Add(key);
            _cleanRoot = null;
            _count = _trie.Count;
            return true;
        }
    }

    /// <summary>
    /// Adds a leaf, deferring the insert: deferred leaves are sorted and merged into the index together, one merge per
    /// bucket, when there are between an eighth and a quarter as many as the leaves (at least <see cref="MinDeferred"/>,
    /// at most <see cref="MaxDeferred"/>) or before the next read, whichever comes first. Every read sees the leaf.
    /// </summary>
    /// <param name="leaf">The hash; adding a leaf twice, or one already present, changes nothing.</param>
    internal void AddDeferred(AssertionHash leaf)
    {
        var key = Key256.FromHash(leaf);
        lock (_gate)
        {
            if (_deferred.IsFull)
            {
                MakeRoomLocked();
            }

            _deferred.Add(key);
            _hasDeferred = true;
            _cleanRoot = null;
        }
    }

    /// <summary>Adds many leaves, deferring the inserts as <see cref="AddDeferred(AssertionHash)"/> does.</summary>
    /// <param name="leaves">The hashes; repeats and leaves already present change nothing.</param>
    internal void AddDeferred(ReadOnlySpan<AssertionHash> leaves)
    {
        lock (_gate)
        {
            while (!leaves.IsEmpty)
            {
                if (_deferred.IsFull)
                {
                    MakeRoomLocked();
                }

                leaves = leaves[_deferred.AddUntilFull(leaves)..];
            }

            if (_deferred.Count > 0)
            {
                _hasDeferred = true;
                _cleanRoot = null;
            }
        }
    }

    /// <summary>Makes room for a deferred leaf: a larger buffer (<see cref="DeferredLeaves.TryGrow"/>), else a merge.</summary>
    private void MakeRoomLocked()
    {
        if (!_deferred.TryGrow(_trie.Count))
        {
            MergeDeferredLocked(moreComing: true);
        }
    }

    /// <summary>Merges the deferred leaves into the trie: sorted, so that each bucket takes its share in one merge.</summary>
    /// <param name="moreComing">Whether more deferred leaves follow at once (a bulk load): then a large buffer is kept
    /// for them; after a read's merge it is let go, so that an index that is only read does not hold it.</param>
    /// <param name="hashBuckets">Whether a root read follows: each bucket is then hashed right after its merge, while its
    /// leaves are in the cache, instead of being read again by the root read.</param>
    private void MergeDeferredLocked(bool moreComing = false, bool hashBuckets = false)
    {
        if (_deferred.Count == 0)
        {
            return;
        }

        ReadOnlySpan<Key256> sorted = _deferred.Sort();
        if (!_symbols.IsKept)
        {
            _trie.AddSorted(sorted, hashBuckets: hashBuckets);
        }
        else
        {
            List<Key256> fresh = _fresh;
            fresh.Clear();
            _trie.AddSorted(sorted, fresh, hashBuckets);
            _symbols.AddFresh(fresh);
            if (fresh.Capacity > DeferredLeaves.KeptDeferredLength)
            {
                fresh.Capacity = 0; // a bulk load's buffer is let go
            }

            _symbols.Grow();
        }

        // Only now: had the merge failed (out of memory), the leaves would still be deferred, and adding them again is harmless.
        _deferred.Clear(moreComing);
        _hasDeferred = false;
        _count = _trie.Count;
    }

    /// <summary>
    /// Starts a read of the set's rateless coded symbols (docs/PROTOCOL.md, "ReconcileSymbols"): the version and count
    /// of the set that <see cref="TryGetSymbols"/> with this version describes. The first read of the symbols makes
    /// them from every leaf (O(n) once); from then on every new leaf is added to them (about 2 ln(L/2) + 1 symbols
    /// of the L kept, up to 0.3 per leaf and 2^16 in all, or 2^18 once a reader needed more: 12 bytes per leaf).
    /// </summary>
    internal (long Version, int Count) BeginSymbols()
    {
        lock (_gate)
        {
            MergeDeferredLocked();
            return (_symbols.Sketch.Version, _trie.Count);
        }
    }

    /// <summary>
    /// Copies coded symbols <paramref name="start"/> onward of the set as of <paramref name="version"/> (from
    /// <see cref="BeginSymbols"/>): those in the kept prefix are copied, later ones computed from every leaf (O(n)).
    /// </summary>
    /// <returns><see langword="false"/> when too many leaves were added since <paramref name="version"/> to tell that set.</returns>
    /// <param name="version">The version from <see cref="BeginSymbols"/>.</param>
    /// <param name="start">The first symbol index.</param>
    /// <param name="destination">Where the symbols go, as many as it holds.</param>
    /// <param name="count">The number of leaves as of <paramref name="version"/>.</param>
    internal bool TryGetSymbols(long version, long start, Span<CodedSymbol> destination, out int count)
    {
        lock (_gate)
        {
            MergeDeferredLocked();
            return _symbols.TryRead(version, start, destination, out count);
        }
    }

    /// <summary>
    /// Makes the kept prefix of coded symbols hold <paramref name="needed"/> symbols when its ceiling is what stands in the
    /// way (see <see cref="RibltSketch.Extend"/>: O(n) once in the index's life, and more to keep up to date per leaf
    /// from then on); otherwise changes nothing.
    /// </summary>
    /// <param name="needed">The number of symbols a reader needs.</param>
    /// <returns>Whether the kept prefix now holds them.</returns>
    internal bool TryExtendSymbols(long needed)
    {
        lock (_gate)
        {
            MergeDeferredLocked();
            return _symbols.TryExtend(needed);
        }
    }

    /// <summary>The ceiling of the kept symbols until a reader extends them (<see cref="RibltSketch.GrowLength"/>; tests set less before the first read of the symbols).</summary>
    internal int SymbolsGrowLength
    {
        get => _symbols.GrowLength;
        set => _symbols.GrowLength = value;
    }

    /// <summary>Whether the index keeps coded symbols up to date (they were read at least once). For tests.</summary>
    internal bool KeepsSymbols
    {
        get
        {
            lock (_gate)
            {
                return _symbols.IsKept;
            }
        }
    }

    /// <summary>The number of coded symbols kept up to date as leaves are added.</summary>
    internal int SketchLength
    {
        get
        {
            lock (_gate)
            {
                MergeDeferredLocked();
                return _symbols.Sketch.Length;
            }
        }
    }

    /// <summary>Returns whether the leaf is present.</summary>
    /// <param name="leaf">The hash.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool Contains(AssertionHash leaf)
    {
        var key = Key256.FromHash(leaf);
        lock (_gate)
        {
            MergeDeferredLocked();
            return _trie.Contains(key);
        }
    }

    /// <summary>Lists up to <paramref name="max"/> leaves in ascending order, strictly after <paramref name="startAfter"/> when given.</summary>
    /// <param name="startAfter">Exclusive lower bound (it need not be a leaf), or <see langword="null"/> to start at the smallest leaf.</param>
    /// <param name="max">Maximum number of leaves to return; 0 returns none.</param>
    /// <returns>The leaves, ascending; fewer than <paramref name="max"/> only when no more follow.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is negative.</exception>
    public IReadOnlyList<AssertionHash> GetLeaves(AssertionHash? startAfter, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        Key256? cursor = startAfter is { } s ? Key256.FromHash(s) : null;
        var result = new List<AssertionHash>(Math.Min(max, Math.Min(_count, 1024)));
        lock (_gate)
        {
            MergeDeferredLocked();
            _trie.GetLeaves(cursor, max, result);
        }

        return result;
    }

    /// <summary>
    /// Returns the number and fingerprint of the leaves in [<paramref name="lowerInclusive"/>,
    /// <paramref name="upperExclusive"/>) of the hash order, in O(log n).
    /// </summary>
    /// <param name="lowerInclusive">The smallest hash in the range (<see cref="AssertionHash.Zero"/> for the start of the order).</param>
    /// <param name="upperExclusive">The first hash after the range, or <see langword="null"/> for the end of the order.</param>
    /// <returns>The count and fingerprint; an empty range has count 0 and the fingerprint of the empty set.</returns>
    /// <exception cref="ArgumentException"><paramref name="upperExclusive"/> is less than <paramref name="lowerInclusive"/>.</exception>
    public RangeFingerprint GetRangeFingerprint(AssertionHash lowerInclusive, AssertionHash? upperExclusive)
    {
        if (upperExclusive is { } upperBound && upperBound < lowerInclusive)
        {
            throw new ArgumentException(
                $"The range's upper bound {upperBound} is below its lower bound {lowerInclusive}.", nameof(upperExclusive));
        }

        var lower = Key256.FromHash(lowerInclusive);
        Key256? upper = upperExclusive is { } u ? Key256.FromHash(u) : null;
        int count;
        Key256 sum;
        lock (_gate)
        {
            MergeDeferredLocked();
            (int belowLower, Key256 sumBelowLower) = _trie.SumBelow(lower);
            (int belowUpper, Key256 sumBelowUpper) = upper is { } up ? _trie.SumBelow(up) : _trie.Total;
            count = belowUpper - belowLower;
            sum = sumBelowUpper - sumBelowLower;
        }

        return new RangeFingerprint(count, MerkleHashing.Fingerprint(count, sum).ToHash());
    }

    private sealed class RootSnapshot
    {
        public RootSnapshot(AssertionHash root) => Root = root;

        public AssertionHash Root { get; }
    }
}
