using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Puts verified, hashed records into the store and the index, for both local ingest (<see cref="LocalIngest"/>) and
/// records received from peers (<see cref="IncomingAssertions"/>): the synchronous put of a store that copies from a
/// span (<see cref="ISynchronousPutStore"/>, with prefetch hints), or one <see cref="IAssertionStore.PutManyAsync"/> per
/// batch for any other store. A local record is stamped now, and when new counted as ingested and offered to gossip; a
/// received record keeps its verified timestamp, which the clock observes, and what follows from it being new is the
/// receive path's to decide.
/// </summary>
internal sealed class StorePuts
{
    // How many puts ahead PutManyAsync hints the store (a put takes a few hundred nanoseconds, about one memory access).
    internal const int PrefetchDistance = 4;

    private readonly IAssertionStore _store;
    private readonly ISynchronousPutStore? _synchronousStore;
    private readonly MerkleIndex _index;
    private readonly HybridLogicalClock _clock;
    private readonly GossipPump _gossip;

    public StorePuts(IAssertionStore store, MerkleIndex index, HybridLogicalClock clock, GossipPump gossip)
    {
        _store = store;
        _synchronousStore = store as ISynchronousPutStore;
        _index = index;
        _clock = clock;
        _gossip = gossip;
    }

    public IAssertionStore Store => _store;

    /// <summary>The store, when it puts synchronously from a span.</summary>
    public ISynchronousPutStore? SynchronousStore => _synchronousStore;

    /// <summary>Whether the store copies a record's bytes while it puts it, so that they may be borrowed from a reusable buffer.</summary>
    public bool StoreCopiesOnPut => _synchronousStore is not null;

    /// <summary>
    /// Puts the first <paramref name="count"/> verified, hashed assertions and indexes every one stored (also when the
    /// store fails part way). A synchronous-put store takes them one by one, with prefetch hints; any other store takes
    /// them in one <see cref="IAssertionStore.PutManyAsync"/> call, with the bytes as given (they are valid until it
    /// completes). Local assertions (<paramref name="received"/> <see langword="null"/>) are stamped now; received ones keep
    /// their timestamps, which the clock then observes. Assertion <c>i</c>'s result goes to <c>results[i]</c>.
    /// </summary>
    public async ValueTask PutManyAsync(
        int count, AssertionHash[] hashes, IReadOnlyList<ReadOnlyMemory<byte>> assertions, HlcTimestamp[]? received, IngestResult[] results, CancellationToken cancellationToken)
    {
        if (_synchronousStore is not { } synchronousStore)
        {
            await PutManyThroughStoreAsync(count, hashes, assertions, received, results, cancellationToken).ConfigureAwait(false);
            return;
        }

        AssertionHash[] stored = ArrayPool<AssertionHash>.Shared.Rent(Math.Max(1, count));
        int storedCount = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                if (i + PrefetchDistance < count)
                {
                    synchronousStore.Prefetch(hashes[i + PrefetchDistance]); // loads while the puts before it run
                }

                ValueTask<IngestResult> local = PutLocal(synchronousStore, hashes[i], assertions[i], received?[i], cancellationToken);
                stored[storedCount++] = hashes[i];
                results[i] = local.IsCompletedSuccessfully ? local.Result : await local.ConfigureAwait(false);
            }
        }
        finally
        {
            _index.AddDeferred(stored.AsSpan(0, storedCount));
            ArrayPool<AssertionHash>.Shared.Return(stored);
        }
    }

    /// <summary>The batch as one <see cref="IAssertionStore.PutManyAsync"/> call; after a failure, what the store holds of it is indexed.</summary>
    private async ValueTask PutManyThroughStoreAsync(
        int count, AssertionHash[] hashes, IReadOnlyList<ReadOnlyMemory<byte>> assertions, HlcTimestamp[]? received, IngestResult[] results, CancellationToken cancellationToken)
    {
        AssertionRecord[] records = ArrayPool<AssertionRecord>.Shared.Rent(Math.Max(1, count));
        bool[] added = ArrayPool<bool>.Shared.Rent(Math.Max(1, count));
        bool local = received is null;
        try
        {
            for (int i = 0; i < count; i++)
            {
                records[i] = local ? new AssertionRecord(hashes[i], assertions[i], _clock.Now()) : Observed(new AssertionRecord(hashes[i], assertions[i], received![i]));
            }

            try
            {
                await _store.PutManyAsync(records.AsMemory(0, count), added.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await IndexWhatIsHeldAsync(records, count).ConfigureAwait(false);
                throw;
            }

            _index.AddDeferred(hashes.AsSpan(0, count));
            for (int i = 0; i < count; i++)
            {
                AssertionRecord record = records[i];
                if (added[i])
                {
                    // A local record goes on to gossip, which keeps it: with bytes of its own (the batch's are lent).
                    results[i] = local
                        ? CompleteAdded(record.Hash, record.Timestamp, _gossip.Enabled ? new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp) : null)
                        : new IngestResult(record.Hash, record.Timestamp, true);
                }
                else
                {
                    results[i] = await CompleteLocalAsync(record, false, cancellationToken, lookUpExisting: local).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<AssertionRecord>.Shared.Return(records, clearArray: true);
            ArrayPool<bool>.Shared.Return(added);
        }
    }

    /// <summary>After a failed batch: indexes the records the store holds (each may or may not have been stored).</summary>
    private async ValueTask IndexWhatIsHeldAsync(AssertionRecord[] records, int count)
    {
        var held = new List<AssertionHash>();
        for (int i = 0; i < count; i++)
        {
            try
            {
                if (await _store.ContainsAsync(records[i].Hash, CancellationToken.None).ConfigureAwait(false))
                {
                    held.Add(records[i].Hash);
                }
            }
#pragma warning disable CA1031 // The batch's failure is already on its way to the caller; a store that cannot answer leaves the rest to anti-entropy.
            catch (Exception)
#pragma warning restore CA1031
            {
                break;
            }
        }

        _index.AddDeferred(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(held));
    }

    /// <summary>
    /// Puts a validated, hashed assertion into a synchronous-put store, stamped now (local) or with the verified
    /// <paramref name="received"/> timestamp, which the clock then observes; the caller indexes the hash.
    /// </summary>
    public ValueTask<IngestResult> PutLocal(
        ISynchronousPutStore store, AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp? received, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (received is { } observed)
        {
            return new ValueTask<IngestResult>(new IngestResult(hash, observed, PutReceived(store, hash, data, observed)));
        }

        HlcTimestamp timestamp = _clock.Now();
        bool added = store.Put(hash, data.Span, timestamp);
        return added
            ? new ValueTask<IngestResult>(CompleteAdded(hash, timestamp, _gossip.Enabled ? new AssertionRecord(hash, data, timestamp) : null))
            : CompleteLocalAsync(new AssertionRecord(hash, data, timestamp), false, cancellationToken);
    }

    /// <summary>
    /// Puts a verified received record into a synchronous-put store with its timestamp, which the clock then observes.
    /// Returns whether it was new; the caller indexes the hash.
    /// </summary>
    public bool PutReceived(ISynchronousPutStore store, AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp timestamp)
    {
        bool added = store.Put(hash, data.Span, timestamp);
        _clock.TryObserve(timestamp, out _);
        return added;
    }

    /// <summary>A received record about to be put: the clock observes its verified timestamp.</summary>
    private AssertionRecord Observed(AssertionRecord record)
    {
        _clock.TryObserve(record.Timestamp, out _);
        return record;
    }

    /// <summary>The rest of a local <c>IngestAsync</c> once the put is under way.</summary>
    public async ValueTask<IngestResult> CompletePutAsync(AssertionRecord record, ValueTask<bool> put, CancellationToken cancellationToken)
    {
        bool added = await put.ConfigureAwait(false);
        _index.AddDeferred(record.Hash);
        return await CompleteLocalAsync(record, added, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A validated, hashed local assertion stamped now, with bytes a host's store may keep.</summary>
    public AssertionRecord NewLocalRecord(AssertionHash hash, ReadOnlyMemory<byte> data) =>
        new(hash, data.ToArray(), _clock.Now());

    /// <summary>The result of a local put: the stored timestamp when it was already present, otherwise counted and queued for gossip.</summary>
    private async ValueTask<IngestResult> CompleteLocalAsync(AssertionRecord record, bool added, CancellationToken cancellationToken, bool lookUpExisting = true)
    {
        if (!added && !lookUpExisting)
        {
            return new IngestResult(record.Hash, record.Timestamp, false);
        }

        if (!added)
        {
            AssertionRecord? existing = await _store.GetAsync(record.Hash, cancellationToken).ConfigureAwait(false);
            return new IngestResult(record.Hash, existing?.Timestamp ?? record.Timestamp, false);
        }

        return CompleteAdded(record);
    }

    public IngestResult CompleteAdded(AssertionRecord record) => CompleteAdded(record.Hash, record.Timestamp, record);

    /// <summary>The result of a local put that added an assertion: counted, and <paramref name="gossip"/> queued when given.</summary>
    private IngestResult CompleteAdded(AssertionHash hash, HlcTimestamp timestamp, AssertionRecord? gossip)
    {
        SyncDiagnostics.Ingested.Add(1);
        if (gossip is not null)
        {
            _gossip.Enqueue(gossip);
        }

        return new IngestResult(hash, timestamp, true);
    }
}
