using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Internal;

namespace StemeDb.Sync;

/// <summary>
/// A thread-safe, non-durable <see cref="IAssertionStore"/>: the embedded default of a node, and the fake
/// that hosts use in their unit tests.
/// </summary>
/// <remarks>
/// Records are spread over 64 lock-striped open-addressing tables of 32-bit tags, and their hashes, timestamps and
/// bytes are copied into append-only slabs, so that a million stored assertions cost the garbage collector a few
/// large arrays rather than millions of small objects, and a put probes four bytes a slot in tables small enough for
/// a CPU cache. The store keeps its own copy: a caller may reuse the buffer of a record it put. Records are never
/// removed.
/// </remarks>
public sealed class InMemoryAssertionStore : IAssertionStore, ISynchronousPutStore
{
    private const int StripeCount = 64; // a power of two

    private readonly Stripe[] _stripes;

    /// <summary>Creates an empty store.</summary>
    public InMemoryAssertionStore()
        : this(uint.MaxValue)
    {
    }

    /// <summary>Creates an empty store whose tags keep only the bits of <paramref name="tagMask"/> (tests make every tag collide with 0).</summary>
    internal InMemoryAssertionStore(uint tagMask)
    {
        _stripes = new Stripe[StripeCount];
        for (int i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Stripe(tagMask);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<bool>(Put(record.Hash, record.Data.Span, record.Timestamp));
    }

    /// <inheritdoc />
    bool ISynchronousPutStore.Put(AssertionHash hash, ReadOnlySpan<byte> data, HlcTimestamp timestamp) => Put(hash, data, timestamp);

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
    public ValueTask<IReadOnlyList<AssertionRecord>> GetManyWithinAsync(IReadOnlyList<AssertionHash> hashes, long maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new List<AssertionRecord>(Math.Min(hashes.Count, 1024));
        long total = 0;
        for (int i = 0; i < hashes.Count; i++)
        {
            if (Find(hashes[i]) is not { } record)
            {
                continue;
            }

            if (found.Count > 0 && record.Data.Length > maxBytes - total)
            {
                break;
            }

            found.Add(record);
            total += record.Data.Length;
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
        // Each stripe's count only grows, so the sum never goes back between calls.
        long count = 0;
        foreach (Stripe stripe in _stripes)
        {
            count += stripe.Count;
        }

        return new ValueTask<long>(count);
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

    /// <inheritdoc />
    void ISynchronousPutStore.Prefetch(AssertionHash hash) => StripeOf(hash).Prefetch(hash);

    private bool Put(AssertionHash hash, ReadOnlySpan<byte> data, HlcTimestamp timestamp)
    {
        Stripe stripe = StripeOf(hash);
        lock (stripe)
        {
            return stripe.TryAdd(hash, data, timestamp);
        }
    }

    private AssertionRecord? Find(AssertionHash hash)
    {
        Stripe stripe = StripeOf(hash);
        lock (stripe)
        {
            return stripe.Find(hash);
        }
    }

    // By raw bits of the hash, so that all 32 bits of the (per-process randomized) hash code are left for the tag.
    private Stripe StripeOf(AssertionHash hash) => _stripes[(int)hash.W3 & (StripeCount - 1)];

    /// <summary>
    /// One lock stripe: an open-addressing table (linear probing, at most three quarters full) of 8-byte slots, each
    /// a 32-bit tag (from the randomized hash code; 0 marks an empty slot) and the record's location in the stripe's
    /// slabs, where its hash, timestamp and bytes are kept. A put reads and writes one slot, and compares full hashes
    /// only on a tag match. Called under the stripe's lock.
    /// </summary>
    private sealed class Stripe
    {
        private const int FirstCapacity = 64; // a power of two
        private const int FirstSlabBytes = 4096;
        private const int MaxSlabBytes = 1 << 20;
        private const int MaxSlabbedRecordBytes = 16 * 1024;

        // A location: a large record's index in _large, with LargeFlag; otherwise the slab's index and the offset (in
        // units of 8 bytes: records start at multiples of 8) in the low OffsetBits bits.
        private const uint LargeFlag = 1u << 31;
        private const int OffsetBits = 17; // MaxSlabBytes / 8 = 2^17
        private const int MaxSlabs = 1 << (31 - OffsetBits);

        // A record: the hash (32 bytes), the timestamp (time u64, counter u32, little-endian; node id, 16 bytes), the
        // data length (u32, little-endian), then the data.
        private const int TimestampAt = AssertionHash.Length;
        private const int LengthAt = TimestampAt + 8 + 4 + NodeId.Length;
        private const int HeaderBytes = LengthAt + 4;

        private readonly List<byte[]> _slabs = new();
        private readonly List<int> _slabEnds = new(); // the bytes of records in each slab
        private readonly List<byte[]> _large = new(); // one record each
        private readonly uint _tagMask;
        private ulong[] _slots = Array.Empty<ulong>(); // location << 32 | tag
        private int _count;
        private int _shift;
        private byte[] _slab = Array.Empty<byte>();
        private int _used;

        public Stripe(uint tagMask) => _tagMask = tagMask;

        /// <summary>The number of records; read without the lock (an int is read whole).</summary>
        public int Count => Volatile.Read(ref _count);

        public bool TryAdd(AssertionHash hash, ReadOnlySpan<byte> data, HlcTimestamp timestamp)
        {
            if ((_count + 1) * 4 > _slots.Length * 3)
            {
                Grow();
            }

            uint tag = TagOf(hash);
            int slot = FindSlot(tag, hash);
            if ((uint)_slots[slot] != 0)
            {
                return false;
            }

            // Take the room first: if this throws (out of memory, or the stripe is full), nothing was added.
            uint location = Allocate(HeaderBytes + data.Length, out Span<byte> target);
            hash.CopyTo(target);
            BinaryPrimitives.WriteUInt64LittleEndian(target[TimestampAt..], timestamp.Time);
            BinaryPrimitives.WriteUInt32LittleEndian(target[(TimestampAt + 8)..], timestamp.Counter);
            timestamp.NodeId.CopyTo(target[(TimestampAt + 12)..]);
            BinaryPrimitives.WriteInt32LittleEndian(target[LengthAt..], data.Length);
            data.CopyTo(target[HeaderBytes..]);
            _slots[slot] = ((ulong)location << 32) | tag;
            _count++;
            return true;
        }

        /// <summary>Prefetches the first slot a probe for <paramref name="hash"/> reads. Called without the lock: it reads
        /// the table once and only hints the processor, so a concurrent <see cref="Grow"/> costs at most a wasted hint.</summary>
        public void Prefetch(AssertionHash hash)
        {
            ulong[] slots = _slots;
            if (slots.Length != 0)
            {
                CacheHint.Prefetch(ref slots[(int)((TagOf(hash) * 0x9E3779B9u) >> (32 - BitOperations.Log2((uint)slots.Length)))]);
            }
        }

        public bool Contains(AssertionHash hash) => _count != 0 && (uint)_slots[FindSlot(TagOf(hash), hash)] != 0;

        public AssertionRecord? Find(AssertionHash hash)
        {
            if (_count == 0)
            {
                return null;
            }

            ulong entry = _slots[FindSlot(TagOf(hash), hash)];
            if ((uint)entry == 0)
            {
                return null;
            }

            (byte[] array, int offset) = Locate((uint)(entry >> 32));
            ReadOnlySpan<byte> header = array.AsSpan(offset, HeaderBytes);
            var timestamp = new HlcTimestamp(
                BinaryPrimitives.ReadUInt64LittleEndian(header[TimestampAt..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[(TimestampAt + 8)..]),
                new NodeId(header.Slice(TimestampAt + 12, NodeId.Length)));
            int length = BinaryPrimitives.ReadInt32LittleEndian(header[LengthAt..]);
            return new AssertionRecord(hash, array.AsMemory(offset + HeaderBytes, length), timestamp);
        }

        /// <summary>The hashes of the stripe, read from its slabs in the order the records were added there.</summary>
        public AssertionHash[] CopyHashes()
        {
            var hashes = new AssertionHash[_count];
            int next = 0;
            for (int i = 0; i < _slabs.Count; i++)
            {
                byte[] slab = _slabs[i];
                int end = _slabEnds[i];
                for (int offset = 0; offset < end; offset += Padded(HeaderBytes + BinaryPrimitives.ReadInt32LittleEndian(slab.AsSpan(offset + LengthAt))))
                {
                    hashes[next++] = new AssertionHash(slab.AsSpan(offset, AssertionHash.Length));
                }
            }

            foreach (byte[] record in _large)
            {
                hashes[next++] = new AssertionHash(record.AsSpan(0, AssertionHash.Length));
            }

            return hashes;
        }

        private static int Padded(int length) => (length + 7) & ~7;

        private uint TagOf(AssertionHash hash) => ((uint)hash.GetHashCode() & _tagMask) | 1;

        /// <summary>The slot holding <paramref name="hash"/>, or the empty slot where it belongs (the table is never full).</summary>
        private int FindSlot(uint tag, AssertionHash hash)
        {
            int mask = _slots.Length - 1;
            int slot = SlotOf(tag);
            while (true)
            {
                ulong entry = _slots[slot];
                uint found = (uint)entry;
                if (found == 0 || (found == tag && HashAt((uint)(entry >> 32)) == hash))
                {
                    return slot;
                }

                slot = (slot + 1) & mask;
            }
        }

        // Fibonacci hashing of the tag: its top bits pick the slot.
        private int SlotOf(uint tag) => (int)((tag * 0x9E3779B9u) >> _shift);

        private AssertionHash HashAt(uint location)
        {
            (byte[] array, int offset) = Locate(location);
            return new AssertionHash(array.AsSpan(offset, AssertionHash.Length));
        }

        private (byte[] Array, int Offset) Locate(uint location) =>
            (location & LargeFlag) != 0
                ? (_large[(int)(location & ~LargeFlag)], 0)
                : (_slabs[(int)(location >> OffsetBits)], (int)(location & ((1u << OffsetBits) - 1)) << 3);

        private void Grow()
        {
            ulong[] old = _slots;
            int capacity = old.Length == 0 ? FirstCapacity : old.Length * 2;
            _slots = new ulong[capacity];
            _shift = 32 - BitOperations.Log2((uint)capacity);
            int mask = capacity - 1;
            foreach (ulong entry in old)
            {
                if ((uint)entry == 0)
                {
                    continue;
                }

                int slot = SlotOf((uint)entry);
                while (_slots[slot] != 0)
                {
                    slot = (slot + 1) & mask;
                }

                _slots[slot] = entry;
            }
        }

        /// <summary>Room for a record of <paramref name="length"/> bytes; returns its location.</summary>
        private uint Allocate(int length, out Span<byte> target)
        {
            // Uninitialized arrays: only the bytes of records are ever read, and each is written before its slot is.
            if (length > MaxSlabbedRecordBytes)
            {
                byte[] array = GC.AllocateUninitializedArray<byte>(length);
                _large.Add(array);
                target = array;
                return LargeFlag | (uint)(_large.Count - 1);
            }

            int padded = Padded(length);
            if (_slab.Length - _used < padded)
            {
                if (_slabs.Count == MaxSlabs)
                {
                    throw new InvalidOperationException(
                        $"The in-memory store is full: each of its {StripeCount} stripes holds at most {MaxSlabs} slabs of {MaxSlabBytes} bytes.");
                }

                _slab = GC.AllocateUninitializedArray<byte>(Math.Max(padded, Math.Clamp(_slab.Length * 2, FirstSlabBytes, MaxSlabBytes)));
                _slabs.Add(_slab);
                _slabEnds.Add(0);
                _used = 0;
            }

            int offset = _used;
            _used += padded;
            _slabEnds[^1] = _used;
            target = _slab.AsSpan(offset, length);
            return ((uint)(_slabs.Count - 1) << OffsetBits) | (uint)(offset >> 3);
        }
    }
}
