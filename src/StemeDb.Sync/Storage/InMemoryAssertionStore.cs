using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Storage;

/// <summary>
/// A thread-safe, non-durable <see cref="IAssertionStore"/>: the embedded default of a node, and the fake
/// that hosts use in their unit tests.
/// </summary>
/// <remarks>
/// Records are spread over lock-striped dictionaries of value entries, and their bytes are copied into
/// append-only slabs, so that a million stored assertions cost the garbage collector a few large arrays rather
/// than millions of small objects. The store keeps its own copy: a caller may reuse the buffer of a record it
/// put. Records are never removed.
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
            ref Entry entry = ref CollectionsMarshal.GetValueRefOrAddDefault(stripe.Entries, record.Hash, out bool exists);
            added = !exists;
            if (added)
            {
                entry = new Entry(stripe.Copy(record.Data.Span), record.Timestamp);
            }
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
            return new ValueTask<bool>(stripe.Entries.ContainsKey(hash));
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
                keys = new AssertionHash[stripe.Entries.Count];
                stripe.Entries.Keys.CopyTo(keys, 0);
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
        Entry entry;
        lock (stripe)
        {
            if (!stripe.Entries.TryGetValue(hash, out entry))
            {
                return null;
            }
        }

        return new AssertionRecord(hash, entry.Data, entry.Timestamp);
    }

    private Stripe StripeOf(AssertionHash hash) => _stripes[hash.GetHashCode() & (StripeCount - 1)];

    private readonly record struct Entry(ReadOnlyMemory<byte> Data, HlcTimestamp Timestamp);

    private sealed class Stripe
    {
        private const int FirstSlabBytes = 4096;
        private const int MaxSlabBytes = 1 << 20;
        private const int MaxSlabbedRecordBytes = 16 * 1024;

        private byte[] _slab = Array.Empty<byte>();
        private int _used;

        public Dictionary<AssertionHash, Entry> Entries { get; } = new();

        /// <summary>Copies bytes into the stripe's current slab (called under the stripe's lock).</summary>
        public ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> data)
        {
            if (data.Length > MaxSlabbedRecordBytes)
            {
                return data.ToArray();
            }

            if (_slab.Length - _used < data.Length)
            {
                _slab = new byte[Math.Max(data.Length, Math.Clamp(_slab.Length * 2, FirstSlabBytes, MaxSlabBytes))];
                _used = 0;
            }

            Memory<byte> copy = _slab.AsMemory(_used, data.Length);
            data.CopyTo(copy.Span);
            _used += data.Length;
            return copy;
        }
    }
}
