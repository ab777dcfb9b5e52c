using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace StemeDb.Sync.Merkle.Internal;

/// <content>Self-checks for the tests: every derived value recomputed from the leaves.</content>
internal sealed partial class BucketedTrie
{
    /// <summary>Recomputes every derived value from the leaves and compares; throws on any inconsistency. For tests.</summary>
    internal void CheckInvariants()
    {
        int total = 0;
        Key256 totalSum = default;
        for (int index = 0; index < _buckets.Length; index++)
        {
            Bucket bucket = _buckets[index];
            List<Key256> keys = KeysOf(bucket);
            if (keys.Count != bucket.Count)
            {
                throw new InvalidOperationException($"Bucket {index} counts {bucket.Count} leaves, has {keys.Count}.");
            }

            if (bucket.Storage is CritBitTrie && bucket.Count <= MaxSortedBucket)
            {
                throw new InvalidOperationException($"Bucket {index} is a trie with only {bucket.Count} leaves.");
            }

            for (int i = 0; i < keys.Count; i++)
            {
                if (BucketOf(keys[i]) != index)
                {
                    throw new InvalidOperationException($"Bucket {index} holds a leaf of bucket {BucketOf(keys[i])}.");
                }

                if (i > 0 && Key256.Compare(keys[i - 1], keys[i]) >= 0)
                {
                    throw new InvalidOperationException($"Bucket {index} is not strictly ascending at {i}.");
                }

                totalSum += keys[i];
            }

            if ((bucket.Flags & (HasHash | HashDirty)) == HasHash && bucket.Count > 0 && _bucketHashes[index] != FullHash(keys, 0, keys.Count))
            {
                throw new InvalidOperationException($"Bucket {index} is clean but caches a wrong hash.");
            }

            int parent = (_buckets.Length + index) >> 1;
            if ((bucket.Flags & HashDirty) != 0 && parent > 0 && (_nodeFlags[parent] & HashDirty) == 0)
            {
                throw new InvalidOperationException($"Bucket {index} is dirty under a clean parent.");
            }

            total += keys.Count;
        }

        if (total != _count || totalSum != _totalSum)
        {
            throw new InvalidOperationException("Total count or sum is inconsistent.");
        }

        for (int position = 1; position < _nodes.Length; position++)
        {
            byte flags = _nodeFlags[position];
            int parent = position >> 1;
            if (parent > 0 && (flags & ~_nodeFlags[parent] & Dirty) != 0)
            {
                throw new InvalidOperationException($"Node {position} is dirty under a clean parent.");
            }

            (int count, Key256 sum, Key256? hash) = FullSubtree(position);
            NodeData node = _nodes[position];
            if ((flags & CountDirty) == 0 && node.Count != count)
            {
                throw new InvalidOperationException($"Node {position} is clean but caches a wrong count.");
            }

            if ((flags & SumDirty) == 0 && (node.Count != count || node.Sum != sum))
            {
                throw new InvalidOperationException($"Node {position} is clean but caches a wrong count or sum.");
            }

            if ((flags & (HasHash | HashDirty)) == HasHash && count > 0 && node.Hash != hash)
            {
                throw new InvalidOperationException($"Node {position} is clean but caches a wrong hash.");
            }
        }

        if (_rootHashValid && _rootHash != (_count == 0 ? MerkleHashing.EmptyRoot : FullSubtree(1).Hash))
        {
            throw new InvalidOperationException("The cached root hash is stale.");
        }
    }

    /// <summary>The number of leaves in the fullest bucket. For tests.</summary>
    internal int LargestBucket()
    {
        int largest = 0;
        foreach (Bucket bucket in _buckets)
        {
            largest = Math.Max(largest, bucket.Count);
        }

        return largest;
    }

    /// <summary>The trie hash of any sorted, distinct leaves, computed from scratch. For tests.</summary>
    private static Key256 FullHash(List<Key256> keys, int lo, int hi)
    {
        if (hi - lo == 1)
        {
            return MerkleHashing.Leaf(keys[lo]);
        }

        int bit = Key256.FirstDifferingBit(keys[lo], keys[hi - 1]);
        int split = lo;
        while (!keys[split].Bit(bit))
        {
            split++;
        }

        return MerkleHashing.Inner(FullHash(keys, lo, split), FullHash(keys, split, hi));
    }

    /// <summary>Count, sum and hash (null when empty) of the subtree at a heap position, from the leaves. For tests.</summary>
    private (int Count, Key256 Sum, Key256? Hash) FullSubtree(int position)
    {
        var keys = new List<Key256>();
        int first = position;
        int last = position;
        while (first < _buckets.Length)
        {
            first *= 2;
            last = (2 * last) + 1;
        }

        for (int b = first; b <= last; b++)
        {
            keys.AddRange(KeysOf(_buckets[b - _buckets.Length]));
        }

        Key256 sum = default;
        foreach (Key256 key in keys)
        {
            sum += key;
        }

        return (keys.Count, sum, keys.Count == 0 ? null : FullHash(keys, 0, keys.Count));
    }
}
