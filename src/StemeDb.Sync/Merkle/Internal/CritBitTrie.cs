using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// A binary Patricia (crit-bit) trie over 256-bit leaves with the Merkle hash and range sums of
/// docs/PROTOCOL.md. Not thread-safe; <see cref="MerkleIndex"/> serializes access.
/// </summary>
/// <remarks>
/// <para>
/// The shape of a crit-bit trie depends only on the set: an inner node splits its leaves at the first
/// bit where they differ, all with that bit 0 on the left. So the Merkle root computed over it is
/// history-independent. With uniformly distributed (BLAKE3) leaves the depth is about log2(n).
/// </para>
/// <para>
/// Storage is struct arrays with indices instead of references. A child reference <c>r</c> is an inner
/// node index when <c>r &gt;= 0</c> and the leaf index <c>~r</c> when <c>r &lt; 0</c>. Inner nodes whose
/// subtree holds more than <see cref="UncachedMaxCount"/> leaves own a <see cref="NodeCache"/> entry
/// (hash and sum of the subtree); smaller subtrees are recomputed from their few leaves when needed.
/// That keeps the memory per leaf near 75 bytes while every operation stays O(depth).
/// </para>
/// <para>
/// Hashes are updated lazily: an insert adds to the counts and sums on its path and marks the cached
/// ancestors dirty; reading <see cref="Root"/> rehashes only dirty nodes (O(depth) after one insert).
/// </para>
/// </remarks>
internal sealed partial class CritBitTrie
{
    /// <summary>Subtrees of at most this many leaves cache neither hash nor sum.</summary>
    internal const int UncachedMaxCount = 4;

    /// <summary>Room for one pending reference per inner node on a path (at most 256) and one more.</summary>
    private const int StackCapacity = 258;

    private readonly ChunkedList<Key256> _leaves = new();
    private readonly ChunkedList<InnerNode> _nodes = new();
    private readonly ChunkedList<NodeCache> _caches = new();

    private int _root;
    private int _count;
    private Key256 _totalSum;
    private Key256 _rootHash = MerkleHashing.EmptyRoot;
    private bool _rootHashValid = true;

    public int Count => _count;

    /// <summary>The number of node hashes computed for <see cref="Root"/> so far (lets tests check the O(depth) update).</summary>
    internal long HashesComputed { get; private set; }

    /// <summary>The Merkle root (rehashes dirty nodes first).</summary>
    public Key256 Root
    {
        get
        {
            if (!_rootHashValid)
            {
                _rootHash = HashOf(_root);
                _rootHashValid = true;
            }

            return _rootHash;
        }
    }

    /// <summary>Adds <paramref name="key"/>; returns <see langword="false"/> if it was already present.</summary>
    public bool Add(in Key256 key)
    {
        if (_count == 0)
        {
            _root = ~_leaves.Add(key);
            _count = 1;
            _totalSum = key;
            _rootHashValid = false;
            return true;
        }

        Key256 best = _leaves[~FindBestMatch(key)];
        int critBit = Key256.FirstDifferingBit(key, best);
        if (critBit < 0)
        {
            return false;
        }

        // Allocate first, so that the update below cannot stop halfway: one leaf, one inner node and at
        // most one cache entry. Counts strictly grow upwards, so at most one node on the path reaches
        // UncachedMaxCount + 1 leaves with this insert: the new node (then all its ancestors already had
        // more) or the one ancestor that held exactly UncachedMaxCount.
        _leaves.EnsureSpare(1);
        _nodes.EnsureSpare(1);
        _caches.EnsureSpare(1);

        // Walk down again to where the new inner node belongs: above the first node splitting at a later bit.
        Span<int> path = stackalloc int[StackCapacity];
        int depth = 0;
        int parent = -1;
        bool parentRight = false;
        int r = _root;
        while (r >= 0 && _nodes[r].CritBit < critBit)
        {
            ref InnerNode node = ref _nodes[r];
            path[depth++] = r;
            parent = r;
            parentRight = key.Bit(node.CritBit);
            r = parentRight ? node.Right : node.Left;
        }

        int leafRef = ~_leaves.Add(key);
        bool newOnRight = key.Bit(critBit);
        var inserted = new InnerNode
        {
            Left = newOnRight ? r : leafRef,
            Right = newOnRight ? leafRef : r,
            Count = CountOf(r) + 1,
            Cache = -1,
            CritBit = (byte)critBit,
        };
        int insertedIndex = _nodes.Add(inserted);
        if (parent < 0)
        {
            _root = insertedIndex;
        }
        else if (parentRight)
        {
            _nodes[parent].Right = insertedIndex;
        }
        else
        {
            _nodes[parent].Left = insertedIndex;
        }

        PromoteIfLarge(insertedIndex);
        for (int i = depth - 1; i >= 0; i--)
        {
            int index = path[i];
            ref InnerNode node = ref _nodes[index];
            node.Count++;
            if (node.Cache >= 0)
            {
                ref NodeCache cache = ref _caches[node.Cache];
                cache.Sum += key;
                node.Dirty = true;
            }
            else
            {
                PromoteIfLarge(index);
            }
        }

        _count++;
        _totalSum += key;
        _rootHashValid = false;
        return true;
    }

    public bool Contains(in Key256 key) => _count != 0 && _leaves[~FindBestMatch(key)] == key;

    /// <summary>Appends to <paramref name="result"/> up to <paramref name="max"/> leaves in ascending order, strictly after <paramref name="startAfter"/> when given.</summary>
    public void GetLeaves(Key256? startAfter, int max, List<AssertionHash> result)
    {
        if (_count == 0 || max <= 0)
        {
            return;
        }

        Span<int> pending = stackalloc int[StackCapacity];
        int top = 0;
        if (startAfter is not { } bound)
        {
            pending[top++] = _root;
        }
        else
        {
            Key256 best = _leaves[~FindBestMatch(bound)];
            int critBit = Key256.FirstDifferingBit(bound, best);
            int r = _root;
            while (r >= 0 && (critBit < 0 || _nodes[r].CritBit < critBit))
            {
                ref InnerNode node = ref _nodes[r];
                if (bound.Bit(node.CritBit))
                {
                    r = node.Right;
                }
                else
                {
                    // Everything right of here shares the cursor's prefix and has a 1 where it has a 0.
                    pending[top++] = node.Right;
                    r = node.Left;
                }
            }

            // r is the subtree where the cursor would be inserted: all of it is on one side of the cursor,
            // or it is the leaf equal to the cursor (critBit < 0), which is excluded.
            if (critBit >= 0 && !bound.Bit(critBit))
            {
                pending[top++] = r;
            }
        }

        int target = result.Count + max;
        while (top > 0 && result.Count < target)
        {
            int r = pending[--top];
            while (r >= 0)
            {
                ref InnerNode node = ref _nodes[r];
                pending[top++] = node.Right;
                r = node.Left;
            }

            result.Add(_leaves[~r].ToHash());
        }
    }

    /// <summary>The number and sum (mod 2^256) of the leaves strictly below <paramref name="bound"/>.</summary>
    public (int Count, Key256 Sum) SumBelow(in Key256 bound)
    {
        int count = 0;
        Key256 sum = default;
        if (_count == 0)
        {
            return (count, sum);
        }

        Key256 best = _leaves[~FindBestMatch(bound)];
        int critBit = Key256.FirstDifferingBit(bound, best);
        int r = _root;
        while (r >= 0 && (critBit < 0 || _nodes[r].CritBit < critBit))
        {
            ref InnerNode node = ref _nodes[r];
            if (bound.Bit(node.CritBit))
            {
                count += CountOf(node.Left);
                sum += SumOf(node.Left);
                r = node.Right;
            }
            else
            {
                r = node.Left;
            }
        }

        if (critBit >= 0 && bound.Bit(critBit))
        {
            count += CountOf(r);
            sum += SumOf(r);
        }

        return (count, sum);
    }

    /// <summary>The number and sum (mod 2^256) of all leaves.</summary>
    public (int Count, Key256 Sum) Total => (_count, _totalSum);

    /// <summary>Appends every leaf to <paramref name="keys"/> in ascending order.</summary>
    public void CopyKeysTo(List<Key256> keys)
    {
        if (_count == 0)
        {
            return;
        }

        Span<int> pending = stackalloc int[StackCapacity];
        int top = 0;
        pending[top++] = _root;
        while (top > 0)
        {
            int r = pending[--top];
            while (r >= 0)
            {
                ref InnerNode node = ref _nodes[r];
                pending[top++] = node.Right;
                r = node.Left;
            }

            keys.Add(_leaves[~r]);
        }
    }

    private Key256 FullHash(int r)
    {
        if (r < 0)
        {
            return MerkleHashing.Leaf(_leaves[~r]);
        }

        InnerNode node = _nodes[r];
        return MerkleHashing.Inner(FullHash(node.Left), FullHash(node.Right));
    }

    /// <summary>Follows <paramref name="key"/>'s bits to a leaf: the only leaf that can equal it.</summary>
    private int FindBestMatch(in Key256 key)
    {
        int r = _root;
        while (r >= 0)
        {
            ref InnerNode node = ref _nodes[r];
            r = key.Bit(node.CritBit) ? node.Right : node.Left;
        }

        return r;
    }

    private int CountOf(int r) => r < 0 ? 1 : _nodes[r].Count;

    private Key256 SumOf(int r)
    {
        if (r < 0)
        {
            return _leaves[~r];
        }

        InnerNode node = _nodes[r];
        return node.Cache >= 0 ? _caches[node.Cache].Sum : SumOf(node.Left) + SumOf(node.Right);
    }

    /// <summary>Hashes the subtree at <paramref name="r"/>, reusing clean cached hashes and refreshing dirty ones.</summary>
    private Key256 HashOf(int r)
    {
        if (r < 0)
        {
            return MerkleHashing.Leaf(_leaves[~r]); // a leaf is its own value: nothing to hash
        }

        InnerNode node = _nodes[r];
        if (node.Cache < 0)
        {
            Key256 left = HashOf(node.Left);
            Key256 right = HashOf(node.Right);
            HashesComputed++;
            return MerkleHashing.Inner(left, right);
        }

        ref NodeCache cache = ref _caches[node.Cache];
        if (node.Dirty)
        {
            Key256 left = HashOf(node.Left);
            Key256 right = HashOf(node.Right);
            HashesComputed++;
            cache.Hash = MerkleHashing.Inner(left, right);
            _nodes[r].Dirty = false;
        }

        return cache.Hash;
    }

    /// <summary>Gives node <paramref name="index"/> a cache entry when its subtree has just become large enough.</summary>
    private void PromoteIfLarge(int index)
    {
        ref InnerNode node = ref _nodes[index];
        if (node.Cache >= 0 || node.Count <= UncachedMaxCount)
        {
            return;
        }

        // Each child either caches its sum or holds at most a few leaves, so this is O(1).
        Key256 sum = SumOf(node.Left) + SumOf(node.Right);
        int cacheIndex = _caches.Add(new NodeCache { Sum = sum });
        node = ref _nodes[index];
        node.Cache = cacheIndex;
        node.Dirty = true;
    }

    /// <summary>An inner node: 20 bytes.</summary>
    private struct InnerNode
    {
        public int Left;
        public int Right;
        public int Count;
        public int Cache;
        public byte CritBit;
        public bool Dirty;
    }

    /// <summary>The cached hash and leaf sum of a large subtree: 64 bytes.</summary>
    private struct NodeCache
    {
        public Key256 Hash;
        public Key256 Sum;
    }
}
