using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Puts verified, hashed records into the store and the index, for both local ingest (<see cref="LocalIngest"/>) and
/// records received from peers (<see cref="IncomingAssertions"/>): the synchronous put of a store that copies from a
/// span (<see cref="ISynchronousPutStore"/>, with prefetch hints), or up to <see cref="MaxPutsInFlight"/> puts in flight
/// for any other store. A local record is stamped now, and when new counted as ingested and offered to gossip; a
/// received record keeps its verified timestamp, which the clock observes, and what follows from it being new is the
/// receive path's to decide.
/// </summary>
internal sealed class StorePuts
{
    /// <summary>The most puts <see cref="PutManyAsync"/> keeps in flight.</summary>
    private const int MaxPutsInFlight = 1024;

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
    /// Puts the first <paramref name="count"/> verified, hashed assertions, up to <see cref="MaxPutsInFlight"/> at once,
    /// and indexes every one whose put completed (also when a put fails). Local assertions (<paramref name="received"/>
    /// <see langword="null"/>) are stamped now; received ones keep their timestamps, which the clock then observes.
    /// Assertion <c>i</c>'s result goes to <c>results[i]</c>.
    /// </summary>
    public async ValueTask PutManyAsync(
        int count, AssertionHash[] hashes, IReadOnlyList<ReadOnlyMemory<byte>> assertions, HlcTimestamp[]? received, IngestResult[] results, CancellationToken cancellationToken)
    {
        AssertionHash[] stored = ArrayPool<AssertionHash>.Shared.Rent(Math.Max(1, count));
        int storedCount = 0;
        var inFlight = new Queue<(int Index, AssertionRecord Record, Task<bool> Put)>(_synchronousStore is null ? Math.Min(count, MaxPutsInFlight) : 0);
        try
        {
            for (int i = 0; i < count; i++)
            {
                if (_synchronousStore is { } synchronousStore)
                {
                    if (i + PrefetchDistance < count)
                    {
                        synchronousStore.Prefetch(hashes[i + PrefetchDistance]); // loads while the puts before it run
                    }

                    ValueTask<IngestResult> local = PutLocal(synchronousStore, hashes[i], assertions[i], received?[i], cancellationToken);
                    stored[storedCount++] = hashes[i];
                    results[i] = local.IsCompletedSuccessfully ? local.Result : await local.ConfigureAwait(false);
                    continue;
                }

                AssertionRecord record = received is null ? NewLocalRecord(hashes[i], assertions[i]) : Observed(new AssertionRecord(hashes[i], assertions[i], received[i]));
                ValueTask<bool> put = _store.PutAsync(record, cancellationToken);
                if (put.IsCompletedSuccessfully)
                {
                    stored[storedCount++] = record.Hash;
                    results[i] = put.Result
                        ? Added(record, local: received is null)
                        : await CompleteLocalAsync(record, false, cancellationToken, lookUpExisting: received is null).ConfigureAwait(false);
                    continue;
                }

                inFlight.Enqueue((i, record, put.AsTask()));
                if (inFlight.Count == MaxPutsInFlight)
                {
                    (int index, AssertionRecord oldest, Task<bool> oldestPut) = inFlight.Dequeue();
                    bool added = await oldestPut.ConfigureAwait(false);
                    stored[storedCount++] = oldest.Hash;
                    results[index] = added ? Added(oldest, local: received is null) : await CompleteLocalAsync(oldest, false, cancellationToken, lookUpExisting: received is null).ConfigureAwait(false);
                }
            }

            while (inFlight.TryDequeue(out (int Index, AssertionRecord Record, Task<bool> Put) entry))
            {
                bool added = await entry.Put.ConfigureAwait(false);
                stored[storedCount++] = entry.Record.Hash;
                results[entry.Index] = added ? Added(entry.Record, local: received is null) : await CompleteLocalAsync(entry.Record, false, cancellationToken, lookUpExisting: received is null).ConfigureAwait(false);
            }
        }
        finally
        {
            // After a failure: let the puts still in flight finish, so that what they stored is indexed too.
            while (inFlight.TryDequeue(out (int Index, AssertionRecord Record, Task<bool> Put) entry))
            {
                if (await WaitForPutAsync(entry.Put).ConfigureAwait(false))
                {
                    stored[storedCount++] = entry.Record.Hash;
                }
            }

            _index.AddDeferred(stored.AsSpan(0, storedCount));
            ArrayPool<AssertionHash>.Shared.Return(stored);
        }
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

    /// <summary>Waits for a put without throwing; returns whether it completed (added or already present).</summary>
    private static async Task<bool> WaitForPutAsync(Task<bool> put)
    {
        try
        {
            await put.ConfigureAwait(false);
            return true;
        }
#pragma warning disable CA1031 // The batch's first failure is already on its way to the caller.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
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

    /// <summary>A record a put added: a local one is counted and offered to gossip; a received one is left to the receive path.</summary>
    private IngestResult Added(AssertionRecord record, bool local) => local ? CompleteAdded(record) : new IngestResult(record.Hash, record.Timestamp, true);

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
