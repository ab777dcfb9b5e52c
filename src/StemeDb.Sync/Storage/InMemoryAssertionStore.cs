using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Storage;

/// <summary>
/// A thread-safe, non-durable <see cref="IAssertionStore"/>: the embedded default of a node, and the fake
/// that hosts use in their unit tests.
/// </summary>
/// <remarks>
/// Records are spread over 64 lock-striped open-addressing tables whose entries hold no references, and their
/// timestamps and bytes are copied into append-only slabs, so that a million stored assertions cost the garbage
/// collector a few large arrays rather than millions of small objects, and a put touches one table entry. The
/// store keeps its own copy: a caller may reuse the buffer of a record it put. Records are never removed.
/// </remarks>
public sealed class InMemoryAssertionStore : IAssertionStore
{
    private const int StripeCount = 64; // a power of two

    private readonly Stripe[] _stripes;
    private long _count;

    /// <summary>Creates an empty store.</summary>
    public InMemoryAssertionStore()
    {
        _stripes = new Stripe[StripeCount];
        for (int i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Stripe();
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        Stripe stripe = StripeOf(record.Hash);
        bool added;
        lock (stripe)
        {
            added = stripe.TryAdd(record);
        }

        if (added)
        {
            Interlocked.Increment(ref _count);
        }

        return new ValueTask<bool>(added);
    }

    /// <inheritdoc />
    public ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<AssertionRecord?>(Find(hash));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new List<AssertionRecord>(Math.Min(hashes.Count, 1024));
        for (int i = 0; i < hashes.Count; i++)
        {
            if (Find(hashes[i]) is { } record)
            {
                found.Add(record);
            }
        }

        return new ValueTask<IReadOnlyList<AssertionRecord>>(found);
    }

    /// <inheritdoc />
    public ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Stripe stripe = StripeOf(hash);
        lock (stripe)
        {
            return new ValueTask<bool>(stripe.Contains(hash));
        }
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<long>(Interlocked.Read(ref _count));
    }

    /// <inheritdoc />
    /// <remarks>Each stripe is copied under its lock, so concurrent puts never break the enumeration.</remarks>
    public async IAsyncEnumerable<AssertionHash> EnumerateHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (Stripe stripe in _stripes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            AssertionHash[] keys;
            lock (stripe)
            {
                keys = stripe.CopyHashes();
            }

            foreach (AssertionHash hash in keys)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return hash;
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private AssertionRecord? Find(AssertionHash hash)
    {
        Stripe stripe = StripeOf(hash);
        lock (stripe)
        {
            return stripe.Find(hash);
        }
    }

    private Stripe StripeOf(AssertionHash hash) => _stripes[hash.GetHashCode() & (StripeCount - 1)];

    /// <summary>
    /// One lock stripe: an open-addressing table (linear probing, at most three quarters full) of entries that
    /// locate each record in the stripe's slabs, where its timestamp and bytes are kept. Called under the stripe's lock.
    /// </summary>
    private sealed class Stripe
    {
        private const int FirstCapacity = 64; // a power of two
        private const int FirstSlabBytes = 4096;
        private const int MaxSlabBytes = 1 << 20;
        private const int MaxSlabbedRecordBytes = 16 * 1024;

        // A record in a slab: the timestamp (time u64, counter u32, little-endian; node id, 16 bytes), then the data.
        private const int HeaderBytes = 8 + 4 + NodeId.Length;

        private readonly List<byte[]> _slabs = new();
        private Entry[] _entries = Array.Empty<Entry>();
        private int _count;
        private int _shift;
        private byte[] _slab = Array.Empty<byte>();
        private int _slabNumber; // the 1-based number of _slab in _slabs
        private int _used;

        public bool TryAdd(AssertionRecord record)
        {
            if ((_count + 1) * 4 > _entries.Length * 3)
            {
                Grow();
            }

            ref Entry entry = ref FindSlot(record.Hash);
            if (entry.Slab != 0)
            {
                return false;
            }

            ReadOnlySpan<byte> data = record.Data.Span;
            int length = HeaderBytes + data.Length;

            // Take the room first: if this throws (out of memory), nothing was added.
            (int slab, int offset) = Allocate(length);
            Span<byte> target = _slabs[slab - 1].AsSpan(offset, length);
            BinaryPrimitives.WriteUInt64LittleEndian(target, record.Timestamp.Time);
            BinaryPrimitives.WriteUInt32LittleEndian(target[8..], record.Timestamp.Counter);
            record.Timestamp.NodeId.CopyTo(target[12..]);
            data.CopyTo(target[HeaderBytes..]);
            entry = new Entry { Hash = record.Hash, Slab = slab, Offset = offset, Length = data.Length };
            _count++;
            return true;
        }

        public bool Contains(AssertionHash hash) => _count != 0 && FindSlot(hash).Slab != 0;

        public AssertionRecord? Find(AssertionHash hash)
        {
            if (_count == 0)
            {
                return null;
            }

            Entry entry = FindSlot(hash);
            if (entry.Slab == 0)
            {
                return null;
            }

            byte[] slab = _slabs[entry.Slab - 1];
            ReadOnlySpan<byte> header = slab.AsSpan(entry.Offset, HeaderBytes);
            var timestamp = new HlcTimestamp(
                BinaryPrimitives.ReadUInt64LittleEndian(header),
                BinaryPrimitives.ReadUInt32LittleEndian(header[8..]),
                new NodeId(header[12..]));
            return new AssertionRecord(hash, slab.AsMemory(entry.Offset + HeaderBytes, entry.Length), timestamp);
        }

        public AssertionHash[] CopyHashes()
        {
            var hashes = new AssertionHash[_count];
            int next = 0;
            foreach (Entry entry in _entries)
            {
                if (entry.Slab != 0)
                {
                    hashes[next++] = entry.Hash;
                }
            }

            return hashes;
        }

        /// <summary>The entry holding <paramref name="hash"/>, or the empty entry where it belongs (the table is never full).</summary>
        private ref Entry FindSlot(AssertionHash hash)
        {
            int mask = _entries.Length - 1;
            int index = SlotOf(hash);
            while (true)
            {
                ref Entry entry = ref _entries[index];
                if (entry.Slab == 0 || entry.Hash == hash)
                {
                    return ref entry;
                }

                index = (index + 1) & mask;
            }
        }

        // Fibonacci hashing of the (per-process randomized) hash code: the top bits pick the slot.
        private int SlotOf(AssertionHash hash) => (int)(((uint)hash.GetHashCode() * 0x9E3779B9u) >> _shift);

        private void Grow()
        {
            Entry[] old = _entries;
            int capacity = old.Length == 0 ? FirstCapacity : old.Length * 2;
            _entries = new Entry[capacity];
            _shift = 32 - BitOperations.Log2((uint)capacity);
            foreach (Entry entry in old)
            {
                if (entry.Slab != 0)
                {
                    FindSlot(entry.Hash) = entry;
                }
            }
        }

        private (int Slab, int Offset) Allocate(int length)
        {
            if (length > MaxSlabbedRecordBytes)
            {
                _slabs.Add(new byte[length]); // a large record gets an array of its own
                return (_slabs.Count, 0);
            }

            if (_slab.Length - _used < length)
            {
                var slab = new byte[Math.Max(length, Math.Clamp(_slab.Length * 2, FirstSlabBytes, MaxSlabBytes))];
                _slabs.Add(slab);
                _slab = slab;
                _slabNumber = _slabs.Count;
                _used = 0;
            }

            int offset = _used;
            _used += length;
            return (_slabNumber, offset);
        }

        /// <summary>Where a record is: slab number (1-based; 0 marks an empty entry), offset and data length. No references, so the collector never scans the table.</summary>
        private struct Entry
        {
            public AssertionHash Hash;
            public int Slab;
            public int Offset;
            public int Length;
        }
    }
}
