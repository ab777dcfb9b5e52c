using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The Merkle set of docs/PROTOCOL.md laid out for memory locality: leaves sorted in small buckets by their
/// first bits, under a complete binary tree of cached hashes and sums. Not thread-safe; <see cref="MerkleIndex"/>
/// serializes access.
/// </summary>
/// <remarks>
/// <para>
/// With depth <c>k</c>, bucket <c>i</c> holds the leaves whose first <c>k</c> bits are <c>i</c>, in ascending
/// order. The leaves sharing a prefix always form one subtree of the crit-bit trie of the specification, so a
/// bucket's hash is the trie hash of its leaves, and the trie above the buckets is the complete binary tree over
/// the prefixes with empty halves skipped (an inner node whose one side is empty has the hash of the other side).
/// That tree is stored as an implicit heap: the node for the <c>j</c>-bit prefix <c>p</c> sits at position
/// <c>2^j + p</c>, bucket <c>i</c> at <c>2^k + i</c>. The depth grows with the count (one more bit each time the
/// average bucket passes <see cref="SplitAverage"/> leaves), so buckets stay small: an insert is one binary search
/// and a short move in one small array, a few cache lines, where a pointer-linked trie misses the cache once per
/// level.
/// </para>
/// <para>
/// Hashes and sums are kept lazily. An insert updates its bucket's count and marks the bucket and its ancestors
/// dirty (one byte each, stopping at the first ancestor that already is); <see cref="Root"/> recomputes only dirty
/// nodes, so one insert followed by a root read costs the hashes of its bucket and its sibling bucket plus one per
/// level. A root read that first merges deferred leaves (<see cref="AddSorted"/> with <c>hashBuckets</c>) hashes each
/// bucket right after its merge, while its leaves are in the cache, and leaves only the levels above to the read.
/// When the depth grows, every bucket splits in two and the old buckets become the lowest inner level with their
/// cached values intact: nothing is rehashed until an insert dirties a path. What an insert touches (the
/// bucket's entry, its leaves, the dirty bytes) is kept apart from what only a root or range read needs (cached
/// hashes and sums), so that the former stays small enough for the caches.
/// </para>
/// <para>
/// Leaves that share long prefixes (they can only be found by grinding hashes) collect in one bucket. A bucket of
/// more than <see cref="MaxSortedBucket"/> leaves becomes a <see cref="CritBitTrie"/>, whose operations stay
/// O(depth) whatever the leaves; so no operation degrades beyond the bound of that trie.
/// </para>
/// </remarks>
internal sealed partial class BucketedTrie
{
    /// <summary>The depth grows by one bit when the average bucket would hold more than this many leaves.</summary>
    internal const int SplitAverage = 16;

    /// <summary>A bucket holding more leaves than this is a crit-bit trie instead of a sorted array.</summary>
    internal const int MaxSortedBucket = 256;

    /// <summary>The largest depth: 2^24 buckets, enough for 268 million uniformly distributed leaves.</summary>
    private const int MaxDepth = 24;

    private const int FirstCapacity = 4;

    /// <summary>A root read gathers the subtrees of up to 2^ChunkBits buckets one by one (see <see cref="RefreshHashes"/>).</summary>
    private const int ChunkBits = 5;

    /// <summary>
    /// A root read computes the gathered nodes once this many wait. With <see cref="ChunkBits"/> this bounds the batch to
    /// about 100 KB for uniform leaves (it stays in the core's cache while it is hashed), and to about 1 MB whatever the
    /// leaves (sorted buckets hold at most <see cref="MaxSortedBucket"/>; larger ones hash on their own), at any size.
    /// </summary>
    private const int FlushJobs = 1 << 10;

    // Flags of buckets and inner nodes.
    private const byte HashDirty = 1; // a leaf was added below since the hash was computed
    private const byte SumDirty = 2;  // inner nodes only: a leaf was added below since count and sum were computed
    private const byte HasHash = 4;   // the hash was computed at least once (fresh buckets have none yet)
    private const byte CountDirty = 8; // inner nodes only: a leaf was added below since the count was computed
    private const byte Dirty = HashDirty | SumDirty | CountDirty;

    private int _depth;
    private Bucket[] _buckets = new Bucket[1];
    private Key256[] _bucketHashes = new Key256[1];
    private byte[] _nodeFlags = new byte[1]; // position 0 unused; inner nodes at 1 .. 2^depth - 1
    private NodeData[] _nodes = new NodeData[1];
    private int _count;
    private Key256 _totalSum;
    private Key256 _rootHash = MerkleHashing.EmptyRoot;
    private bool _rootHashValid = true;
    private NodeHashBatch? _batch;

    public int Count => _count;

    /// <summary>The number of node hashes computed for <see cref="Root"/> so far (lets tests check the update cost).</summary>
    internal long HashesComputed { get; private set; }

    /// <summary>The number of prefix bits that select a bucket. For tests.</summary>
    internal int Depth => _depth;

    /// <summary>The Merkle root (recomputes dirty nodes first).</summary>
    public Key256 Root
    {
        get
        {
            if (!_rootHashValid)
            {
                _rootHash = _count == 0 ? MerkleHashing.EmptyRoot : RefreshHashes();
                _rootHashValid = true;
            }

            return _rootHash;
        }
    }

    /// <summary>The number and sum (mod 2^256) of all leaves.</summary>
    public (int Count, Key256 Sum) Total => (_count, _totalSum);

    /// <summary>Adds <paramref name="key"/>; returns <see langword="false"/> if it was already present.</summary>
    public bool Add(in Key256 key)
    {
        int index = BucketOf(key);
        ref Bucket bucket = ref _buckets[index];
        if (bucket.Storage is CritBitTrie trie)
        {
            if (!trie.Add(key))
            {
                return false;
            }
        }
        else
        {
            int at = Search((Key256[]?)bucket.Storage, bucket.Count, key);
            if (at >= 0)
            {
                return false;
            }

            InsertSorted(ref bucket, ~at, key);
        }

        bucket.Count++;
        MarkDirty(index);
        _count++;
        _totalSum += key;
        if (_count > SplitAverage << _depth && _depth < MaxDepth)
        {
            Deepen();
        }

        return true;
    }

    /// <summary>
    /// Adds keys given in ascending order (repeats and keys already present are skipped): the depth grows first, then
    /// each bucket takes its run of keys in one merge. Same result as adding them one by one.
    /// </summary>
    /// <param name="keys">The keys, ascending.</param>
    /// <param name="added">When given, receives each key that was new, once (in no particular order).</param>
    /// <param name="hashBuckets">Whether to hash each sorted bucket right after its merge, while its leaves are in the
    /// cache (for a root read that follows; its ancestors stay dirty for it).</param>
    /// <returns>The number of keys that were new.</returns>
    public int AddSorted(ReadOnlySpan<Key256> keys, List<Key256>? added = null, bool hashBuckets = false)
    {
        // Deep enough for all of them (a bound: repeats and present keys may leave the trie a bit deeper than adding
        // one by one would), so that no deepening moves the buckets while the runs are merged.
        while (_depth < MaxDepth && (long)_count + keys.Length > (long)SplitAverage << _depth)
        {
            Deepen();
        }

        NodeHashBatch? batch = hashBuckets ? _batch ??= new NodeHashBatch() : null;
        try
        {
            int count = 0;
            for (int start = 0; start < keys.Length;)
            {
                int index = BucketOf(keys[start]);
                int end = start + 1;
                while (end < keys.Length && BucketOf(keys[end]) == index)
                {
                    end++;
                }

                count += MergeRun(index, keys[start..end], added);
                if (batch is not null)
                {
                    GatherBucket(index, batch);
                }

                start = end;
            }

            if (batch is not null)
            {
                Flush(batch);
            }

            return count;
        }
        finally
        {
            batch?.Release();
        }
    }

    /// <summary>Adds to <paramref name="batch"/> the hash of sorted bucket <paramref name="index"/> when it has no up-to-date one (noted, so that <see cref="Flush"/> caches it); computes the batch once it is full.</summary>
    private void GatherBucket(int index, NodeHashBatch batch)
    {
        ref Bucket bucket = ref _buckets[index];
        if (bucket.Count == 0 || bucket.Storage is not Key256[] keys || (bucket.Flags & (HasHash | HashDirty)) == HasHash)
        {
            return; // empty, a trie bucket (hashed by the root read), or clean
        }

        bucket.Flags = HasHash; // the hash is written by Flush
        batch.Note(~index, GatherSorted(keys, bucket.Count, batch));
        if (batch.JobCount >= FlushJobs)
        {
            Flush(batch);
        }
    }

    /// <summary>Merges an ascending run of keys of bucket <paramref name="index"/> into it; returns how many were new.</summary>
    private int MergeRun(int index, ReadOnlySpan<Key256> run, List<Key256>? added)
    {
        ref Bucket bucket = ref _buckets[index];
        if (bucket.Storage is CritBitTrie || bucket.Count + run.Length > MaxSortedBucket)
        {
            // A trie bucket, or one that may become one: key by key (no deepening can happen, see AddSorted).
            int addedOneByOne = 0;
            foreach (Key256 key in run)
            {
                if (Add(key))
                {
                    addedOneByOne++;
                    added?.Add(key);
                }
            }

            return addedOneByOne;
        }

        var keys = (Key256[]?)bucket.Storage;
        int count = bucket.Count;
        int fresh = 0;
        for (int r = 0, at = 0; r < run.Length; r++)
        {
            if (r > 0 && run[r] == run[r - 1])
            {
                continue;
            }

            while (at < count && Key256.Compare(keys![at], run[r]) < 0)
            {
                at++;
            }

            if (at == count || keys![at] != run[r])
            {
                fresh++;
            }
        }

        if (fresh == 0)
        {
            return 0;
        }

        int total = count + fresh;
        if (keys is null || keys.Length < total)
        {
            int capacity = keys is null ? FreshCapacity(total) : Math.Min(MaxSortedBucket, Math.Max(total, keys.Length + Math.Max(FirstCapacity, keys.Length / 2)));
            var grown = new Key256[capacity];
            if (keys is not null)
            {
                Array.Copy(keys, grown, count);
            }

            bucket.Storage = keys = grown;
        }

        // From the back, so that the present keys move at most once and nothing is overwritten before it is moved.
        int write = total - 1;
        int present = count - 1;
        for (int r = run.Length - 1; r >= 0; r--)
        {
            Key256 key = run[r];
            while (present >= 0 && Key256.Compare(keys[present], key) > 0)
            {
                keys[write--] = keys[present--];
            }

            if ((present >= 0 && keys[present] == key) || (r > 0 && run[r - 1] == key))
            {
                continue; // present already, or repeated in the run (its first copy is placed)
            }

            keys[write--] = key;
            _totalSum += key;
            added?.Add(key);
        }

        bucket.Count = total;
        MarkDirty(index);
        _count += fresh;
        return fresh;
    }

    /// <summary>Marks bucket <paramref name="index"/> and its ancestors dirty (stopping at the first that already is).</summary>
    private void MarkDirty(int index)
    {
        _buckets[index].Flags |= HashDirty;
        for (int position = (_buckets.Length + index) >> 1; position > 0; position >>= 1)
        {
            ref byte flags = ref _nodeFlags[position];
            if ((flags & Dirty) == Dirty)
            {
                break; // its ancestors are dirty too
            }

            flags |= Dirty;
        }

        _rootHashValid = false;
    }

    public bool Contains(in Key256 key)
    {
        ref Bucket bucket = ref _buckets[BucketOf(key)];
        return bucket.Storage is CritBitTrie trie ? trie.Contains(key) : Search((Key256[]?)bucket.Storage, bucket.Count, key) >= 0;
    }

    /// <summary>Appends to <paramref name="result"/> up to <paramref name="max"/> leaves in ascending order, strictly after <paramref name="startAfter"/> when given.</summary>
    public void GetLeaves(Key256? startAfter, int max, List<AssertionHash> result)
    {
        if (_count == 0 || max <= 0)
        {
            return;
        }

        int index = 0;
        int target = result.Count + max;
        if (startAfter is { } bound)
        {
            index = BucketOf(bound);
            ref Bucket first = ref _buckets[index];
            if (first.Storage is CritBitTrie trie)
            {
                trie.GetLeaves(bound, max, result);
            }
            else
            {
                var keys = (Key256[]?)first.Storage;
                int at = Search(keys, first.Count, bound);
                for (int i = at >= 0 ? at + 1 : ~at; i < first.Count && result.Count < target; i++)
                {
                    result.Add(keys![i].ToHash());
                }
            }

            index++;
        }

        for (; index < _buckets.Length && result.Count < target; index++)
        {
            ref Bucket bucket = ref _buckets[index];
            if (bucket.Storage is CritBitTrie trie)
            {
                trie.GetLeaves(null, target - result.Count, result);
                continue;
            }

            var keys = (Key256[]?)bucket.Storage;
            for (int i = 0; i < bucket.Count && result.Count < target; i++)
            {
                result.Add(keys![i].ToHash());
            }
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

        // Every bucket left of the bound's: add the left sibling wherever the path to it turns right.
        int index = BucketOf(bound);
        for (int level = 0; level < _depth; level++)
        {
            if (((index >> (_depth - 1 - level)) & 1) != 0)
            {
                int leftSibling = ((1 << level) + (index >> (_depth - level))) << 1;
                (int c, Key256 s) = RefreshSum(leftSibling);
                count += c;
                sum += s;
            }
        }

        // And the leaves below the bound in its own bucket.
        ref Bucket bucket = ref _buckets[index];
        if (bucket.Storage is CritBitTrie trie)
        {
            (int c, Key256 s) = trie.SumBelow(bound);
            return (count + c, sum + s);
        }

        var keys = (Key256[]?)bucket.Storage;
        int at = Search(keys, bucket.Count, bound);
        int end = at >= 0 ? at : ~at;
        for (int i = 0; i < end; i++)
        {
            sum += keys![i];
        }

        return (count + end, sum);
    }

    /// <summary>Binary search in <c>keys[0..count)</c>: the index of <paramref name="key"/>, or the complement of where it belongs.</summary>
    private static int Search(Key256[]? keys, int count, in Key256 key)
    {
        int lo = 0;
        int hi = count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = Key256.Compare(keys![mid], key);
            if (c == 0)
            {
                return mid;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }

    /// <summary>The first index in <c>keys[lo..hi)</c> whose bit <paramref name="bit"/> is 1 (all leaves there agree on the bits before it).</summary>
    private static int FirstWithBit(Key256[] keys, int lo, int hi, int bit)
    {
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid].Bit(bit))
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    private static void InsertSorted(ref Bucket bucket, int at, in Key256 key)
    {
        var keys = (Key256[]?)bucket.Storage;
        if (bucket.Count == MaxSortedBucket)
        {
            var trie = new CritBitTrie();
            for (int i = 0; i < bucket.Count; i++)
            {
                trie.Add(keys![i]);
            }

            trie.Add(key);
            bucket.Storage = trie;
            return;
        }

        if (keys is null || bucket.Count == keys.Length)
        {
            int capacity = keys is null ? FirstCapacity : Math.Min(MaxSortedBucket, keys.Length + Math.Max(FirstCapacity, keys.Length / 2));
            var grown = new Key256[capacity];
            if (keys is not null)
            {
                Array.Copy(keys, grown, bucket.Count);
            }

            bucket.Storage = keys = grown;
        }

        if (at < bucket.Count)
        {
            Array.Copy(keys, at, keys, at + 1, bucket.Count - at);
        }

        keys[at] = key;
    }

    private static List<Key256> KeysOf(in Bucket bucket)
    {
        var keys = new List<Key256>(bucket.Count);
        if (bucket.Storage is CritBitTrie trie)
        {
            trie.CopyKeysTo(keys);
        }
        else
        {
            var array = (Key256[]?)bucket.Storage;
            for (int i = 0; i < bucket.Count; i++)
            {
                keys.Add(array![i]);
            }
        }

        return keys;
    }

    private static Key256 SumOf(in Bucket bucket)
    {
        if (bucket.Storage is CritBitTrie trie)
        {
            return trie.Total.Sum;
        }

        var keys = (Key256[]?)bucket.Storage;
        Key256 sum = default;
        for (int i = 0; i < bucket.Count; i++)
        {
            sum += keys![i];
        }

        return sum;
    }

    /// <summary>
    /// The room a new bucket array gets: twice its leaves, and at least the average a bucket reaches before the next
    /// split, so that fewer buckets grow their array between two splits (each growth is an allocation that the
    /// collector then copies as it promotes the array). More would cost memory right after a split, when every bucket
    /// holds half that average.
    /// </summary>
    private static int FreshCapacity(int count) => Math.Min(MaxSortedBucket, Math.Max(SplitAverage, 2 * count));

    /// <summary>A bucket of <c>keys[from..from+count)</c>, with room to grow (see <see cref="FreshCapacity"/>).</summary>
    private static Bucket NewBucket(Key256[] keys, int from, int count)
    {
        if (count > MaxSortedBucket)
        {
            var trie = new CritBitTrie();
            for (int i = 0; i < count; i++)
            {
                trie.Add(keys[from + i]);
            }

            return new Bucket { Storage = trie, Count = count };
        }

        if (count == 0)
        {
            return default;
        }

        var copy = new Key256[FreshCapacity(count)];
        Array.Copy(keys, from, copy, 0, count);
        return new Bucket { Storage = copy, Count = count };
    }

    private int BucketOf(in Key256 key) => _depth == 0 ? 0 : (int)(key.W0 >> (64 - _depth));

    /// <summary>
    /// Adds one prefix bit: every bucket splits in two, and the old buckets become the lowest inner level with
    /// their hashes; the new buckets have none yet but are not dirty, so nothing is rehashed until an insert dirties a path.
    /// </summary>
    private void Deepen()
    {
        int oldCount = _buckets.Length;
        var buckets = new Bucket[oldCount * 2];
        var bucketHashes = new Key256[oldCount * 2];
        var nodeFlags = new byte[oldCount * 2];
        var nodes = new NodeData[oldCount * 2];
        Array.Copy(_nodeFlags, nodeFlags, oldCount);
        Array.Copy(_nodes, nodes, oldCount);
        int bit = _depth;
        for (int index = 0; index < oldCount; index++)
        {
            Bucket old = _buckets[index];
            nodes[oldCount + index] = new NodeData { Hash = _bucketHashes[index], Sum = SumOf(old), Count = old.Count };
            nodeFlags[oldCount + index] = (byte)(old.Flags & (HashDirty | HasHash));
            if (old.Count == 0)
            {
                continue;
            }

            if (old.Storage is CritBitTrie)
            {
                Key256[] keys = KeysOf(old).ToArray();
                int split = FirstWithBit(keys, 0, keys.Length, bit);
                buckets[2 * index] = NewBucket(keys, 0, split);
                buckets[(2 * index) + 1] = NewBucket(keys, split, keys.Length - split);
            }
            else
            {
                // The left half keeps the old array (already about twice its size); the right half is copied out.
                var keys = (Key256[])old.Storage!;
                int split = FirstWithBit(keys, 0, old.Count, bit);
                buckets[(2 * index) + 1] = NewBucket(keys, split, old.Count - split);
                buckets[2 * index] = split == 0 ? default : new Bucket { Storage = keys, Count = split };
            }
        }

        _buckets = buckets;
        _bucketHashes = bucketHashes;
        _nodeFlags = nodeFlags;
        _nodes = nodes;
        _depth++;
    }

    /// <summary>The count and sum of the subtree at heap position <paramref name="position"/>, recomputing dirty sums.</summary>
    private (int Count, Key256 Sum) RefreshSum(int position)
    {
        if (position >= _buckets.Length)
        {
            ref Bucket bucket = ref _buckets[position - _buckets.Length];
            return (bucket.Count, SumOf(bucket));
        }

        ref NodeData node = ref _nodes[position];
        if ((_nodeFlags[position] & SumDirty) != 0)
        {
            (int leftCount, Key256 leftSum) = RefreshSum(2 * position);
            (int rightCount, Key256 rightSum) = RefreshSum((2 * position) + 1);
            node.Count = leftCount + rightCount;
            node.Sum = leftSum + rightSum;
            _nodeFlags[position] &= unchecked((byte)~(SumDirty | CountDirty));
        }

        return (node.Count, node.Sum);
    }

    /// <summary>The count of the subtree at heap position <paramref name="position"/>, recomputing dirty counts (not sums: a root read needs none).</summary>
    private int CountOf(int position)
    {
        if (position >= _buckets.Length)
        {
            return _buckets[position - _buckets.Length].Count;
        }

        ref NodeData node = ref _nodes[position];
        if ((_nodeFlags[position] & CountDirty) != 0)
        {
            node.Count = CountOf(2 * position) + CountOf((2 * position) + 1);
            _nodeFlags[position] &= unchecked((byte)~CountDirty);
        }

        return node.Count;
    }

    /// <summary>
    /// Recomputes every dirty or missing hash and returns the root's. The inner nodes to hash are gathered into
    /// <see cref="NodeHashBatch"/> and computed level by level, many per vector instruction; so that the batch stays
    /// small, the subtrees of up to 2^<see cref="ChunkBits"/> buckets are gathered one after another and computed
    /// whenever <see cref="FlushJobs"/> nodes wait, then in the same way the subtrees of 2^<see cref="ChunkBits"/>
    /// of those, and so on up to the root.
    /// </summary>
    private Key256 RefreshHashes()
    {
        NodeHashBatch batch = _batch ??= new NodeHashBatch();
        try
        {
            return GatherAndHash(batch);
        }
        finally
        {
            batch.Release();
        }
    }

    private Key256 GatherAndHash(NodeHashBatch batch)
    {
        // Every ChunkBits levels from the bottom, each subtree (it reaches down to the level below, now clean) in turn.
        for (int level = _depth - ChunkBits; level > 0; level -= ChunkBits)
        {
            for (int position = 1 << level; position < 2 << level; position++)
            {
                if (NeedsHash(position) && CountOf(position) > 0)
                {
                    Gather(position, batch);
                    if (batch.JobCount >= FlushJobs)
                    {
                        Flush(batch);
                    }
                }
            }

            Flush(batch); // the levels above read these hashes from the cache
        }

        Gather(1, batch);
        Flush(batch);
        return _depth == 0 ? _bucketHashes[0] : _nodes[1].Hash;
    }

    /// <summary>Whether the node or bucket at heap position <paramref name="position"/> has no up-to-date hash.</summary>
    private bool NeedsHash(int position)
    {
        byte flags = position >= _buckets.Length ? _buckets[position - _buckets.Length].Flags : _nodeFlags[position];
        return (flags & (HasHash | HashDirty)) != HasHash;
    }

    /// <summary>
    /// Adds to <paramref name="batch"/> the hash of the non-empty subtree at heap position <paramref name="position"/>:
    /// its cached hash when up to date, or else the inner nodes that compute it (noted, so that <see cref="Flush"/>
    /// caches them). Returns the hash's position in the batch.
    /// </summary>
    private int Gather(int position, NodeHashBatch batch)
    {
        if (position >= _buckets.Length)
        {
            int index = position - _buckets.Length;
            ref Bucket bucket = ref _buckets[index];
            Debug.Assert(bucket.Count > 0, "Only non-empty subtrees are hashed.");
            if ((bucket.Flags & (HasHash | HashDirty)) == HasHash)
            {
                return batch.Add(_bucketHashes[index]);
            }

            bucket.Flags = HasHash; // the hash is written by Flush
            if (bucket.Storage is CritBitTrie trie)
            {
                long before = trie.HashesComputed;
                _bucketHashes[index] = trie.Root;
                HashesComputed += trie.HashesComputed - before;
                return batch.Add(_bucketHashes[index]);
            }

            int value = GatherSorted((Key256[])bucket.Storage!, bucket.Count, batch);
            batch.Note(~index, value);
            return value;
        }

        ref byte flags = ref _nodeFlags[position];
        if ((flags & (HasHash | HashDirty)) == HasHash)
        {
            return batch.Add(_nodes[position].Hash);
        }

        int hash;
        if (CountOf(2 * position) == 0)
        {
            hash = Gather((2 * position) + 1, batch);
        }
        else if (CountOf((2 * position) + 1) == 0)
        {
            hash = Gather(2 * position, batch);
        }
        else
        {
            int left = Gather(2 * position, batch);
            hash = batch.AddInner(left, Gather((2 * position) + 1, batch));
        }

        flags = (byte)((flags & ~HashDirty) | HasHash); // the hash is written by Flush
        batch.Note(position, hash);
        return hash;
    }

    /// <summary>Computes the gathered nodes and caches the noted hashes: a bucket's under its complemented index, an inner node's under its position.</summary>
    private void Flush(NodeHashBatch batch)
    {
        HashesComputed += batch.JobCount;
        batch.Run();
        foreach ((int tag, int value) in batch.Results)
        {
            if (tag < 0)
            {
                _bucketHashes[~tag] = batch[value];
            }
            else
            {
                _nodes[tag].Hash = batch[value];
            }
        }

        batch.Clear();
    }

    /// <summary>
    /// Adds to <paramref name="batch"/> the crit-bit trie of the sorted, distinct leaves <c>keys[0..count)</c> (at least
    /// one, at most <see cref="MaxSortedBucket"/>); returns its hash's position. One pass from left to right: the trie
    /// is the Cartesian tree of the first differing bits of neighbouring leaves (the smallest bit splits at the top), so
    /// a stack of subtrees waiting for their right sibling, each with the bit that will join it, builds it.
    /// </summary>
    [SkipLocalsInit]
    private static int GatherSorted(Key256[] keys, int count, NodeHashBatch batch)
    {
        Debug.Assert(count is > 0 and <= MaxSortedBucket, "A sorted bucket.");
        Span<int> waiting = stackalloc int[MaxSortedBucket];
        Span<int> joinBits = stackalloc int[MaxSortedBucket];
        int top = 0;
        int current = batch.Add(MerkleHashing.Leaf(keys[0]));
        for (int i = 1; i < count; i++)
        {
            // current is the subtree ending at keys[i - 1]; bit is where it parts from keys[i] on.
            int bit = Key256.FirstDifferingBit(keys[i - 1], keys[i]);
            while (top > 0 && joinBits[top - 1] > bit)
            {
                top--;
                current = batch.AddInner(waiting[top], current);
            }

            waiting[top] = current;
            joinBits[top] = bit;
            top++;
            current = batch.Add(MerkleHashing.Leaf(keys[i]));
        }

        while (top > 0)
        {
            top--;
            current = batch.AddInner(waiting[top], current);
        }

        return current;
    }

    /// <summary>What an insert touches in a bucket: its leaves (a sorted array, or a trie when large), their count, its flags. 16 bytes.</summary>
    private struct Bucket
    {
        public object? Storage;
        public int Count;
        public byte Flags;
    }

    /// <summary>The cached count, sum and hash of an inner node of the prefix tree, read and written by root and range reads only.</summary>
    private struct NodeData
    {
        public Key256 Hash;
        public Key256 Sum;
        public int Count;
    }
}
