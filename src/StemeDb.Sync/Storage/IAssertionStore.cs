using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync;

/// <summary>
/// Where a node keeps its assertions. Hosts implement it over their own storage; the library ships
/// <see cref="InMemoryAssertionStore"/> as the embedded default and as the fake for unit tests.
/// </summary>
/// <remarks>
/// <para>
/// Implementations must be safe for concurrent use. A record whose put completed (returned) must
/// survive a crash of the host if the store claims durability: the engine acknowledges an assertion
/// to its sender only after <see cref="PutAsync"/> has completed.
/// </para>
/// <para>
/// The store never verifies content: the engine has already checked the hash and the content before
/// calling <see cref="PutAsync"/>. A store knows nothing of transports.
/// </para>
/// </remarks>
public interface IAssertionStore
{
    /// <summary>Stores a record if no record with its hash is present (idempotent).</summary>
    /// <param name="record">The verified record.</param>
    /// <param name="cancellationToken">Cancels the operation; a cancelled put may or may not have stored.</param>
    /// <returns><see langword="true"/> if the record was added; <see langword="false"/> if it was already present.</returns>
    ValueTask<bool> PutAsync(AssertionRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores many verified records, each as <see cref="PutAsync"/> would (idempotent), for bulk loads: an import, a
    /// streamed pull, <see cref="SyncNode.IngestManyAsync"/>. <c>added[i]</c> tells whether <c>records[i]</c> was added
    /// (<see langword="false"/>: already present, or given earlier in the same call).
    /// </summary>
    /// <remarks>
    /// <para>
    /// Unlike <see cref="PutAsync"/>, the records' bytes are valid only until the returned task completes: a store that
    /// keeps them copies them. The call completes when every record is stored, with the durability the store gives a put.
    /// </para>
    /// <para>
    /// The default implementation copies each record and calls <see cref="PutAsync"/> with up to 1,024 puts in flight,
    /// so that a store that commits concurrent puts in groups commits the batch together. A store that can write many
    /// records in one operation should override it: the RocksDB store writes one write batch with one log sync for the
    /// whole call. When the call fails, each record may or may not have been stored (the engine then asks
    /// <see cref="ContainsAsync"/>).
    /// </para>
    /// </remarks>
    /// <param name="records">The verified records; their bytes are read until the returned task completes.</param>
    /// <param name="added">One flag per record, written by the call.</param>
    /// <param name="cancellationToken">Cancels the operation; a cancelled call may or may not have stored each record.</param>
    /// <returns>A task that completes when every record is stored.</returns>
    /// <exception cref="System.ArgumentException"><paramref name="added"/> is shorter than <paramref name="records"/>.</exception>
    async ValueTask PutManyAsync(ReadOnlyMemory<AssertionRecord> records, Memory<bool> added, CancellationToken cancellationToken = default)
    {
        if (added.Length < records.Length)
        {
            throw new System.ArgumentException($"{added.Length} flags for {records.Length} records.", nameof(added));
        }

        const int MaxInFlight = 1024;
        var inFlight = new Queue<(int Index, Task<bool> Put)>(System.Math.Min(records.Length, MaxInFlight));
        try
        {
            for (int i = 0; i < records.Length; i++)
            {
                AssertionRecord record = records.Span[i];
                ValueTask<bool> put = PutAsync(new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp), cancellationToken);
                if (put.IsCompletedSuccessfully)
                {
                    added.Span[i] = put.Result;
                    continue;
                }

                inFlight.Enqueue((i, put.AsTask()));
                if (inFlight.Count == MaxInFlight)
                {
                    (int index, Task<bool> oldest) = inFlight.Dequeue();
                    bool oldestAdded = await oldest.ConfigureAwait(false);
                    added.Span[index] = oldestAdded;
                }
            }

            while (inFlight.TryDequeue(out (int Index, Task<bool> Put) entry))
            {
                bool entryAdded = await entry.Put.ConfigureAwait(false);
                added.Span[entry.Index] = entryAdded;
            }
        }
        finally
        {
            // After a failure, the puts still in flight finish before the call ends: none runs on after it.
            while (inFlight.TryDequeue(out (int Index, Task<bool> Put) entry))
            {
                try
                {
                    bool entryAdded = await entry.Put.ConfigureAwait(false);
                    added.Span[entry.Index] = entryAdded;
                }
#pragma warning disable CA1031 // The call's first failure is already on its way to the caller.
                catch (System.Exception)
#pragma warning restore CA1031
                {
                }
            }
        }
    }

    /// <summary>Gets the record with the given hash.</summary>
    /// <param name="hash">The hash.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The record, or <see langword="null"/> if it is not present.</returns>
    ValueTask<AssertionRecord?> GetAsync(AssertionHash hash, CancellationToken cancellationToken = default);

    /// <summary>Gets the records with the given hashes, skipping those that are not present.</summary>
    /// <param name="hashes">The hashes; duplicates may be returned once or as often as asked.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The records found, in the order of <paramref name="hashes"/>.</returns>
    ValueTask<IReadOnlyList<AssertionRecord>> GetManyAsync(IReadOnlyList<AssertionHash> hashes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gets the records with the given hashes, skipping those that are not present, and stops before the record that
    /// would take the total length of the records' <see cref="AssertionRecord.Data"/> above <paramref name="maxBytes"/>;
    /// the first record found is returned whatever its size. The answer is therefore a prefix of what
    /// <see cref="GetManyAsync(IReadOnlyList{AssertionHash}, CancellationToken)"/> answers. A node serves every fetch and
    /// stream through it, so that what a caller can make it read is bounded before it is read.
    /// </summary>
    /// <remarks>
    /// The default implementation reads one record at a time with <see cref="GetAsync"/>, which holds at most one record
    /// beyond the budget in memory; a store that can learn a record's size before reading it should override it with one
    /// read for many records (both stores shipped with the library do).
    /// </remarks>
    /// <param name="hashes">The hashes, without duplicates.</param>
    /// <param name="maxBytes">The most assertion bytes to return (not negative), unless the first record alone is larger.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The records found, in the order of <paramref name="hashes"/>.</returns>
    async ValueTask<IReadOnlyList<AssertionRecord>> GetManyWithinAsync(IReadOnlyList<AssertionHash> hashes, long maxBytes, CancellationToken cancellationToken = default)
    {
        System.ArgumentNullException.ThrowIfNull(hashes);
        System.ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        var found = new List<AssertionRecord>();
        long total = 0;
        for (int i = 0; i < hashes.Count; i++)
        {
            if (await GetAsync(hashes[i], cancellationToken).ConfigureAwait(false) is not { } record)
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

        return found;
    }

    /// <summary>Returns whether a record with the given hash is present.</summary>
    /// <param name="hash">The hash.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> if present.</returns>
    ValueTask<bool> ContainsAsync(AssertionHash hash, CancellationToken cancellationToken = default);

    /// <summary>Returns the number of records held.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The count.</returns>
    ValueTask<long> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Enumerates the hashes of all records held, in no particular order (used to rebuild the Merkle index at start-up).</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>Every hash exactly once.</returns>
    IAsyncEnumerable<AssertionHash> EnumerateHashesAsync(CancellationToken cancellationToken = default);
}
