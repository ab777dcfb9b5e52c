using System;
using System.Collections.Generic;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Merkle;

/// <summary>
/// The set of assertion hashes a node holds, with a history-independent Merkle root, ordered paging of
/// the leaves and fingerprints of any range of the hash order. Specified in docs/PROTOCOL.md
/// ("Merkle index and root"). Thread-safe: concurrent inserts and readers.
/// </summary>
/// <remarks>
/// <para>
/// The root is that of the binary Patricia (crit-bit) trie of the set, whose shape depends only on the set, so the
/// root is the same for the same set whatever the insertion order. Each inner node hashes as
/// BLAKE3(0x01 || left || right), each leaf as BLAKE3(0x00 || leaf), and the empty set has the root
/// BLAKE3(0x02) (<see cref="EmptyRoot"/>).
/// </para>
/// <para>
/// Layout and costs with n leaves (uniformly distributed, as BLAKE3 hashes are): the leaves are kept sorted in
/// buckets of about 8 to 16 selected by their first log2(n/16) bits, under a complete binary tree of cached subtree
/// hashes and sums. <see cref="Add"/> and <see cref="Contains"/> search one small bucket (an insert that doubles the
/// count past a step also splits every bucket, O(n) once, so inserts cost O(1) amortized); reading <see cref="Root"/>
/// rehashes only what changed since the last read (for one insert: its bucket and one node per level, O(log n));
/// <see cref="GetRangeFingerprint"/> takes O(log n) and <see cref="GetLeaves"/> O(log n + max). Leaves crafted to
/// share long prefixes gather in one bucket, which beyond 256 leaves becomes a crit-bit trie, so that no path is
/// longer than 256 inner nodes and every operation stays bounded whatever the leaves. Memory is about 52 bytes per
/// leaf at a million leaves, with no object per leaf.
/// </para>
/// <para>
/// Operations are serialized by one internal lock; <see cref="Count"/>, and <see cref="Root"/> when no
/// leaf was added since it was last read, read without it.
/// </para>
/// </remarks>
public sealed class MerkleIndex
{
    private readonly BucketedTrie _trie = new();
    private readonly object _gate = new();
    private volatile int _count;

    // The root as of the last read with no insert since, or null: lets clean reads skip the lock.
    private volatile RootSnapshot? _cleanRoot;

    /// <summary>The root of the empty set: BLAKE3 of the single byte 0x02.</summary>
    public static AssertionHash EmptyRoot { get; } = MerkleHashing.EmptyRoot.ToHash();

    /// <summary>The number of leaves.</summary>
    public int Count => _count;

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
            if (!_trie.Add(key))
            {
                return false;
            }

            _cleanRoot = null;
            _count = _trie.Count;
            return true;
        }
    }

    /// <summary>Adds many leaves under one lock, in hash order (neighbouring leaves share buckets and cache lines).</summary>
    /// <param name="leaves">The hashes; duplicates and leaves already present are skipped.</param>
    /// <returns>The number of leaves that were new.</returns>
    internal int AddMany(ReadOnlySpan<AssertionHash> leaves)
    {
        if (leaves.IsEmpty)
        {
            return 0;
        }

        var keys = new Key256[leaves.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = Key256.FromHash(leaves[i]);
        }

        Array.Sort(keys, static (a, b) => Key256.Compare(a, b));
        int added = 0;
        lock (_gate)
        {
            foreach (Key256 key in keys)
            {
                if (_trie.Add(key))
                {
                    added++;
                }
            }

            if (added > 0)
            {
                _cleanRoot = null;
                _count = _trie.Count;
            }
        }

        return added;
    }

    /// <summary>Returns whether the leaf is present.</summary>
    /// <param name="leaf">The hash.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool Contains(AssertionHash leaf)
    {
        var key = Key256.FromHash(leaf);
        lock (_gate)
        {
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
