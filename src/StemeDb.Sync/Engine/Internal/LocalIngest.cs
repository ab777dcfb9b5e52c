using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// What <see cref="LocalIngest.ReceiveManyAsync"/> did with a batch: how many records (from the first) were verified and
/// stored, how many of those were new, and why the next one failed verification (<see langword="null"/> when none did).
/// </summary>
internal readonly record struct ReceivedBatch(int Stored, int Added, string? Rejection);

/// <summary>
/// The host's ingest: validate, hash, stamp, store and index local assertions, then queue the new ones for gossip.
/// A store that puts synchronously from a span (<see cref="ISynchronousPutStore"/>, the in-memory store) copies the caller's bytes synchronously and takes prefetch
/// hints: no state machine per assertion, and no record unless gossip takes one. Any other store gets a record with
/// bytes the node owns, since it may keep it.
/// </summary>
internal sealed class LocalIngest
{
    /// <summary>The most puts <see cref="IngestManyAsync"/> keeps in flight.</summary>
    private const int MaxPutsInFlight = 1024;

    // How many puts ahead IngestManyAsync hints the store (a put takes a few hundred nanoseconds, about one memory access).
    private const int PrefetchDistance = 4;

    private readonly IAssertionStore _store;
    private readonly ISynchronousPutStore? _synchronousStore;
    private readonly MerkleIndex _index;
    private readonly HybridLogicalClock _clock;
    private readonly AssertionVerifier _verifier;
    private readonly GossipPump _gossip;
    private readonly NodeLifecycle _lifecycle;

    public LocalIngest(
        IAssertionStore store, MerkleIndex index, HybridLogicalClock clock, AssertionVerifier verifier, GossipPump gossip, NodeLifecycle lifecycle)
    {
        _store = store;
        _synchronousStore = store as ISynchronousPutStore;
        _index = index;
        _clock = clock;
        _verifier = verifier;
        _gossip = gossip;
        _lifecycle = lifecycle;
    }

    public ValueTask<IngestResult> IngestAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        AssertionRecord record;
        ValueTask<bool> put;
        try
        {
            _lifecycle.EnsureRunning();
            ReadOnlySpan<byte> span = data.Span;
            AssertionHash hash = default;
            if (_verifier.IsWithinSize(span.Length))
            {
                // Hash first: the store's first read for the hash then loads while the content is validated and stamped.
                hash = AssertionHash.Compute(span);
                _synchronousStore?.Prefetch(hash);
            }

            if (_verifier.CheckContent(span) is { } rejection)
            {
                throw new AssertionRejectedException(rejection.Reason, $"The assertion was rejected: {rejection.Message}");
            }

            if (_synchronousStore is { } synchronousStore)
            {
                ValueTask<IngestResult> result = PutLocal(synchronousStore, hash, data, null, cancellationToken);
                _index.AddDeferred(hash);
                return result;
            }

            record = NewLocalRecord(hash, data);
            put = _store.PutAsync(record, cancellationToken);
        }
#pragma warning disable CA1031 // Not swallowed: faulted into the returned task, as an async method would.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<IngestResult>(ex);
        }

        if (put.IsCompletedSuccessfully && put.Result)
        {
            // No state machine either for a host's store that took the assertion synchronously.
            _index.AddDeferred(record.Hash);
            return new ValueTask<IngestResult>(CompleteAdded(record));
        }

        return CompletePutAsync(record, put, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<IngestResult>> IngestManyAsync(IReadOnlyList<ReadOnlyMemory<byte>> assertions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assertions);
        _lifecycle.EnsureRunning();
        var hashes = new AssertionHash[assertions.Count];
        for (int i = 0; i < hashes.Length; i++)
        {
            ReadOnlySpan<byte> data = assertions[i].Span;
            if (_verifier.CheckContent(data) is { } rejection)
            {
                throw new AssertionRejectedException(rejection.Reason, $"Assertion {i} of {hashes.Length} was rejected, so none was stored: {rejection.Message}", i);
            }

            hashes[i] = AssertionHash.Compute(data);
        }

        var results = new IngestResult[hashes.Length];
        await PutManyAsync(hashes.Length, hashes, assertions, null, results, cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <summary>Whether the store copies a record's bytes while it puts it, so that they may be borrowed from a reusable buffer.</summary>
    public bool StoreCopiesOnPut => _synchronousStore is not null;

    /// <summary>
    /// Records read from an assertion stream: each is verified like a record received from a peer (drift, size, content,
    /// BLAKE3), in order, up to the first that fails; those before it are stored, indexed and observed by the clock,
    /// keeping their timestamps. Nothing from the first failure on is stored. A synchronous-put store takes each record
    /// right after its verification, copying the bytes, which may be borrowed from the reader; any other store gets
    /// the verified records through the same bounded puts as <see cref="IngestManyAsync"/>, with bytes of their own.
    /// </summary>
    public ValueTask<ReceivedBatch> ReceiveManyAsync(ReadOnlyMemory<UnverifiedRecord> records, CancellationToken cancellationToken)
    {
        try
        {
            _lifecycle.EnsureRunning();
            if (_synchronousStore is { } synchronousStore)
            {
                return new ValueTask<ReceivedBatch>(ReceiveSynchronously(synchronousStore, records.Span, cancellationToken));
            }
        }
#pragma warning disable CA1031 // Not swallowed: faulted into the returned task, as an async method would.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<ReceivedBatch>(ex);
        }

        return ReceiveThroughPutsAsync(records, cancellationToken);
    }

    /// <summary>Verifies and puts each record in turn into a synchronous-put store; indexes every one put.</summary>
    private ReceivedBatch ReceiveSynchronously(ISynchronousPutStore store, ReadOnlySpan<UnverifiedRecord> records, CancellationToken cancellationToken)
    {
        AssertionHash[] stored = ArrayPool<AssertionHash>.Shared.Rent(Math.Max(1, records.Length));
        int count = 0, added = 0;
        string? reason = null;
        try
        {
            for (; count < records.Length; count++)
            {
                if (count + PrefetchDistance < records.Length)
                {
                    store.Prefetch(records[count + PrefetchDistance].Hash); // the hash the record claims: only a hint, nothing is put before it is verified
                }

                ref readonly UnverifiedRecord record = ref records[count];
                HlcTimestamp timestamp = record.Timestamp;
                if ((reason = _verifier.Verify(record.Hash, record.Data.Span, ref timestamp)) is not null)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                added += PutReceived(store, record.Hash, record.Data, timestamp) ? 1 : 0;
                stored[count] = record.Hash;
            }
        }
        finally
        {
            _index.AddDeferred(stored.AsSpan(0, count));
            ArrayPool<AssertionHash>.Shared.Return(stored);
        }

        return new ReceivedBatch(count, added, reason);
    }

    /// <summary>
    /// Verifies the records up to the first that fails, then puts those through <see cref="PutManyAsync"/>; the batch's
    /// arrays are pooled, the records' bytes are arrays of their own (the store may keep them).
    /// </summary>
    private async ValueTask<ReceivedBatch> ReceiveThroughPutsAsync(ReadOnlyMemory<UnverifiedRecord> records, CancellationToken cancellationToken)
    {
        int length = records.Length;
        AssertionHash[] hashes = ArrayPool<AssertionHash>.Shared.Rent(length);
        ReadOnlyMemory<byte>[] data = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(length);
        HlcTimestamp[] timestamps = ArrayPool<HlcTimestamp>.Shared.Rent(length);
        IngestResult[] results = ArrayPool<IngestResult>.Shared.Rent(length);
        try
        {
            string? reason = null;
            int verified = 0;
            for (; verified < length; verified++)
            {
                UnverifiedRecord record = records.Span[verified];
                HlcTimestamp timestamp = record.Timestamp;
                if ((reason = _verifier.Verify(record.Hash, record.Data.Span, ref timestamp)) is not null)
                {
                    break;
                }

                hashes[verified] = record.Hash;
                data[verified] = record.Owned ? record.Data : record.Data.ToArray();
                timestamps[verified] = timestamp;
            }

            await PutManyAsync(verified, hashes, data, timestamps, results, cancellationToken).ConfigureAwait(false);
            int added = 0;
            for (int i = 0; i < verified; i++)
            {
                added += results[i].Added ? 1 : 0;
            }

            return new ReceivedBatch(verified, added, reason);
        }
        finally
        {
            ArrayPool<AssertionHash>.Shared.Return(hashes);
            ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(data, clearArray: true);
            ArrayPool<HlcTimestamp>.Shared.Return(timestamps);
            ArrayPool<IngestResult>.Shared.Return(results);
        }
    }

    /// <summary>
    /// Puts the first <paramref name="count"/> verified, hashed assertions, up to <see cref="MaxPutsInFlight"/> at once,
    /// and indexes every one whose put completed (also when a put fails). Local assertions (<paramref name="received"/>
    /// <see langword="null"/>) are stamped now; received ones keep their timestamps, which the clock then observes.
    /// Assertion <c>i</c>'s result goes to <c>results[i]</c>.
    /// </summary>
    private async ValueTask PutManyAsync(
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
                        ? CompleteAdded(record)
                        : await CompleteLocalAsync(record, false, cancellationToken, lookUpExisting: received is null).ConfigureAwait(false);
                    continue;
                }

                inFlight.Enqueue((i, record, put.AsTask()));
                if (inFlight.Count == MaxPutsInFlight)
                {
                    (int index, AssertionRecord oldest, Task<bool> oldestPut) = inFlight.Dequeue();
                    bool added = await oldestPut.ConfigureAwait(false);
                    stored[storedCount++] = oldest.Hash;
                    results[index] = await CompleteLocalAsync(oldest, added, cancellationToken, lookUpExisting: received is null).ConfigureAwait(false);
                }
            }

            while (inFlight.TryDequeue(out (int Index, AssertionRecord Record, Task<bool> Put) entry))
            {
                bool added = await entry.Put.ConfigureAwait(false);
                stored[storedCount++] = entry.Record.Hash;
                results[entry.Index] = await CompleteLocalAsync(entry.Record, added, cancellationToken, lookUpExisting: received is null).ConfigureAwait(false);
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
    private ValueTask<IngestResult> PutLocal(
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
    /// Puts a verified received record into a synchronous-put store with its timestamp, which the clock then observes;
    /// a new one is counted and queued for gossip. Returns whether it was new; the caller indexes the hash.
    /// </summary>
    private bool PutReceived(ISynchronousPutStore store, AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp timestamp)
    {
        bool added = store.Put(hash, data.Span, timestamp);
        _clock.TryObserve(timestamp, out _);
        if (added)
        {
            CompleteAdded(hash, timestamp, _gossip.Enabled ? new AssertionRecord(hash, data, timestamp) : null);
        }

        return added;
    }

    /// <summary>A received record about to be put: the clock observes its verified timestamp.</summary>
    private AssertionRecord Observed(AssertionRecord record)
    {
        _clock.TryObserve(record.Timestamp, out _);
        return record;
    }

    /// <summary>The rest of <see cref="IngestAsync"/> once the put is under way.</summary>
    private async ValueTask<IngestResult> CompletePutAsync(AssertionRecord record, ValueTask<bool> put, CancellationToken cancellationToken)
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
    private AssertionRecord NewLocalRecord(AssertionHash hash, ReadOnlyMemory<byte> data) =>
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

    private IngestResult CompleteAdded(AssertionRecord record) => CompleteAdded(record.Hash, record.Timestamp, record);

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
