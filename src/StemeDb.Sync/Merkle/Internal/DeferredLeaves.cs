using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The leaves a <see cref="MerkleIndex"/> has taken with a deferred insert and not yet merged into its trie (they may
/// repeat, or be present already), with the buffers that sort them for the merge: a counting sort by their first bits
/// into a second buffer, then each group on its own. Not thread-safe: the index serializes every call.
/// </summary>
internal sealed class DeferredLeaves
{
    /// <summary>The fewest deferred leaves held before they are merged (unless a read comes first).</summary>
    public const int MinDeferred = 1024;

    /// <summary>The most deferred leaves held before they are merged, whatever the count (bounds the merge a read may wait for).</summary>
    public const int MaxDeferred = 1 << 20;

    /// <summary>A read's merge lets go of a deferred-leaf buffer longer than this (2 MiB).</summary>
    public const int KeptDeferredLength = 65_536;

    // Deferred leaves are sorted by grouping on their first bits once there are this many.
    private const int GroupingThreshold = 256;
    private const int MaxGroupBits = 16;

    // The grouping buffer is kept between merges up to this many leaves; larger merges borrow one for the merge only.
    private const int KeptGroupingLength = 4096;

    private Key256[] _leaves = Array.Empty<Key256>();
    private int _count;
    private Key256[]? _grouped;

    // A bulk load's grouping buffer (longer than KeptGroupingLength, a power of two): kept from merge to merge while
    // the leaves keep coming, so that each merge does not take one of its own from the large object heap; a read's
    // merge lets it go.
    private Key256[]? _bulkGrouped;
    private int[]? _groupStarts;

    /// <summary>The number of leaves waiting.</summary>
    public int Count => _count;

    /// <summary>Whether the buffer is full: it must grow (<see cref="TryGrow"/>) or be merged before the next <see cref="Add"/>.</summary>
    public bool IsFull => _count == _leaves.Length;

    /// <summary>Adds a leaf; the buffer must not be full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(in Key256 key) => _leaves[_count++] = key;

    /// <summary>Adds leaves until the buffer is full or they run out.</summary>
    /// <returns>How many of <paramref name="leaves"/> were added, from the first.</returns>
    public int AddUntilFull(ReadOnlySpan<AssertionHash> leaves)
    {
        Key256[] buffer = _leaves;
        int count = _count;
        int taken = Math.Min(leaves.Length, buffer.Length - count);
        foreach (AssertionHash leaf in leaves[..taken])
        {
            buffer[count++] = Key256.FromHash(leaf);
        }

        _count = count;
        return taken;
    }

    /// <summary>
    /// Doubles the deferred leaves' buffer while the doubled buffer stays within the limit (a quarter of the
    /// <paramref name="leafCount"/> leaves of the index); otherwise it is time to merge them. Only doubling: a buffer
    /// grown to the limit itself would be replaced, a little larger, at almost every merge of a bulk load as the limit
    /// creeps up with the set, each time on the large object heap.
    /// </summary>
    /// <param name="leafCount">The number of leaves in the index.</param>
    /// <returns><see langword="false"/> when the leaves should be merged instead (the buffer is left as it is).</returns>
    public bool TryGrow(int leafCount)
    {
        int limit = Math.Clamp(leafCount / 4, MinDeferred, MaxDeferred);
        int doubled = Math.Max(MinDeferred, _leaves.Length * 2);
        if (_count >= limit || (_count > 0 && doubled > limit))
        {
            return false;
        }

        var grown = new Key256[doubled];
        _leaves.AsSpan(0, _count).CopyTo(grown);
        _leaves = grown;
        return true;
    }

    /// <summary>The waiting leaves, sorted (repeats kept); valid until the next call.</summary>
    public ReadOnlySpan<Key256> Sort() => Sort(_leaves.AsSpan(0, _count));

    /// <summary>Empties the buffer once its leaves are merged.</summary>
    /// <param name="moreComing">Whether more deferred leaves follow at once (a bulk load): then the large buffers are
    /// kept for them; otherwise they are let go, so that an index that is only read does not hold them.</param>
    public void Clear(bool moreComing)
    {
        _count = 0;
        if (!moreComing)
        {
            _bulkGrouped = null;
            if (_leaves.Length > KeptDeferredLength)
            {
                _leaves = Array.Empty<Key256>();
            }
        }
    }

    /// <summary>
    /// Sorts <paramref name="keys"/>: in place when there are few; otherwise a counting sort by their first bits (about
    /// log2 of their number, at most 16) into a second buffer, then each group of equal first bits on its own.
    /// </summary>
    private ReadOnlySpan<Key256> Sort(Span<Key256> keys)
    {
        if (keys.Length < GroupingThreshold)
        {
            SortSmall(keys);
            return keys;
        }

        int bits = Math.Min(MaxGroupBits, BitOperations.Log2((uint)keys.Length));
        int shift = 64 - bits;
        int[] starts = _groupStarts ??= new int[(1 << MaxGroupBits) + 1];
        Span<int> next = starts.AsSpan(0, (1 << bits) + 1);
        next.Clear();
        foreach (Key256 key in keys)
        {
            next[(int)(key.W0 >> shift) + 1]++;
        }

        for (int i = 1; i < next.Length; i++)
        {
            next[i] += next[i - 1];
        }

        Key256[] grouped;
        if (keys.Length <= KeptGroupingLength)
        {
            grouped = _grouped ??= new Key256[KeptGroupingLength];
        }
        else
        {
            if (_bulkGrouped is null || _bulkGrouped.Length < keys.Length)
            {
                // Every element used is written below.
                _bulkGrouped = GC.AllocateUninitializedArray<Key256>((int)BitOperations.RoundUpToPowerOf2((uint)keys.Length));
            }

            grouped = _bulkGrouped;
        }

        foreach (Key256 key in keys)
        {
            grouped[next[(int)(key.W0 >> shift)]++] = key;
        }

        // next[g] is now the end of group g, and the start of group g + 1.
        int start = 0;
        for (int group = 0; group < next.Length - 1; group++)
        {
            int end = next[group];
            SortSmall(grouped.AsSpan(start, end - start));
            start = end;
        }

        return grouped.AsSpan(0, keys.Length);
    }

    /// <summary>Insertion sort for the few keys of a group; a comparison sort when a group is large (leaves crafted to share first bits).</summary>
    private static void SortSmall(Span<Key256> keys)
    {
        if (keys.Length > 16)
        {
            keys.Sort(static (a, b) => Key256.Compare(a, b));
            return;
        }

        for (int i = 1; i < keys.Length; i++)
        {
            Key256 key = keys[i];
            int j = i - 1;
            while (j >= 0 && Key256.Compare(keys[j], key) > 0)
            {
                keys[j + 1] = keys[j];
                j--;
            }

            keys[j + 1] = key;
        }
    }
}
