using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// What <see cref="IncomingAssertions.ReceiveManyAsync"/> did with a batch: how many records (from the first) were
/// verified and stored, how many of those were new, and why the next one failed verification (<see langword="null"/>
/// when none did).
/// </summary>
internal readonly record struct ReceivedBatch(int Stored, int Added, string? Rejection);

/// <summary>What a pushed payload did: the answer for the pusher, and whether the payload was new here.</summary>
internal readonly record struct ReceivedPush(GossipResult Result, bool Added);

/// <summary>What a fetch answer brought: stored records, their bytes, and records refused.</summary>
internal readonly record struct FetchedOutcome(int Stored, long Bytes, int Rejected);

/// <summary>
/// The one receive path for assertions that did not originate here, whatever brought them: a gossip push or batch, a
/// fetch answer, a streamed pull, an import. Each is verified (lengths, size, BLAKE3, content, clock drift), an unstamped
/// record is stamped, then stored, indexed, and its timestamp observed by the clock; a rejection stores nothing and
/// leaves the clock unchanged. One rule for what follows (docs/ENGINE.md, "The receive path"): a record new to this node
/// is forwarded by gossip when it was pushed (the live path, an epidemic: a gossip push or batch, a broadcast payload), on
/// every link but the one it came on; one that was pulled (fetch, stream) or imported is not, since every node that
/// lacks it pulls it the same way. Received records never count as local ingest (<c>stemedb.sync.ingested</c>); each
/// path counts its own.
/// </summary>
internal sealed class IncomingAssertions
{
    private readonly IAssertionStore _store;
    private readonly bool _storeCopies;
    private readonly MerkleIndex _index;
    private readonly HybridLogicalClock _clock;
    private readonly AssertionVerifier _verifier;
    private readonly GossipPump _gossip;
    private readonly ILogger _logger;
    private readonly StorePuts _puts;
    private readonly NodeLifecycle _lifecycle;
    private readonly TimeProvider _time;

    // storeCopies: the store copies a record's bytes inside PutAsync (a synchronous-put store), so that a record may
    // lend it the transport's buffer; any other store gets bytes of its own.
    public IncomingAssertions(
        StorePuts puts, MerkleIndex index, HybridLogicalClock clock, AssertionVerifier verifier, GossipPump gossip, NodeLifecycle lifecycle, ILogger logger, TimeProvider time)
    {
        _puts = puts;
        _time = time;
        _lifecycle = lifecycle;
        IAssertionStore store = puts.Store;
        bool storeCopies = puts.StoreCopiesOnPut;
        _store = store;
        _storeCopies = storeCopies;
        _index = index;
        _clock = clock;
        _verifier = verifier;
        _gossip = gossip;
        _logger = logger;
    }

    /// <summary>
    /// A pushed assertion, on the link of <paramref name="origin"/> (<see langword="null"/>: not a link of this node, or
    /// unknown): accepted when stored or already held, otherwise rejected with the reason. A new one is forwarded on every
    /// other link.
    /// </summary>
    public async ValueTask<ReceivedPush> ReceivePushAsync(
        AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp timestamp, PeerEntry? origin, CancellationToken cancellationToken, bool pulled = false)
    {
        bool unstamped = timestamp.IsNone; // stamped here by the verifier: no delay to measure
        string? reason = _verifier.Verify(hash, data.Span, ref timestamp);
        if (reason is not null)
        {
            return new ReceivedPush(Reject(reason), false);
        }

        if (_index.Contains(hash))
        {
            _clock.TryObserve(timestamp, out _);
            SyncDiagnostics.GossipReceived.Add(1, SyncDiagnostics.Tag("new", false));
            return new ReceivedPush(GossipResult.Ok, false);
        }

        var record = new AssertionRecord(hash, _storeCopies ? data : data.ToArray(), timestamp);
        bool added = await StoreAsync(record, cancellationToken).ConfigureAwait(false);
        SyncDiagnostics.GossipReceived.Add(1, SyncDiagnostics.Tag("new", added));
        if (added)
        {
            if (!unstamped)
            {
                RecordDelay(timestamp, ReplicationDelay.Gossip);
            }

            SyncDiagnostics.BytesReceived.Add(record.Data.Length, SyncDiagnostics.Tag("kind", "gossip"));
            _gossip.Enqueue(record, origin, pulled);
        }

        return new ReceivedPush(GossipResult.Ok, added);
    }

    /// <summary>A push refused before verification (a malformed message): counted and logged like any rejection.</summary>
    public GossipResult Reject(string reason)
    {
        SyncDiagnostics.GossipRejected.Add(1);
        SyncLog.GossipRejected(_logger, reason);
        return GossipResult.Rejected(reason);
    }

    /// <summary>
    /// The records of a fetch answer (already checked against the request by <see cref="PeerCalls"/>): each is verified
    /// and stored on its own; one that fails verification is refused, counted and logged, and the rest go on.
    /// </summary>
    public async ValueTask<FetchedOutcome> ReceiveFetchedAsync(string peer, IReadOnlyList<AssertionRecord> records, CancellationToken cancellationToken)
    {
        int stored = 0, rejected = 0;
        long bytes = 0;
        foreach (AssertionRecord answered in records)
        {
            AssertionRecord record = answered;
            if (_index.Contains(record.Hash))
            {
                continue; // arrived meanwhile through another path
            }

            HlcTimestamp timestamp = record.Timestamp;
            if (_verifier.Verify(record.Hash, record.Data.Span, ref timestamp) is { } reason)
            {
                rejected++;
                SyncDiagnostics.FetchRejected.Add(1);
                SyncLog.FetchedAssertionRejected(_logger, peer, reason);
                continue;
            }

            bool stampedHere = timestamp != record.Timestamp;
            if (stampedHere)
            {
                record = new AssertionRecord(record.Hash, record.Data, timestamp); // stamped here (a v1 answer)
            }

            if (await StoreAsync(record, cancellationToken).ConfigureAwait(false))
            {
                stored++;
                bytes += record.Data.Length;
                if (!stampedHere)
                {
                    RecordDelay(timestamp, ReplicationDelay.Fetch);
                }
            }
        }

        return new FetchedOutcome(stored, bytes, rejected);
    }

    /// <summary>
    /// Records read from an assertion stream: each is verified like a record received from a peer (drift, size, content,
    /// BLAKE3), in order, up to the first that fails; those before it are stored, indexed and observed by the clock,
    /// keeping their timestamps. Nothing from the first failure on is stored. A synchronous-put store takes each record
    /// right after its verification, copying the bytes, which may be borrowed from the reader; any other store gets
    /// the verified records in one <see cref="IAssertionStore.PutManyAsync"/> call, as local bulk ingest does. New records are
    /// not forwarded by gossip (they were pulled or imported).
    /// </summary>
    /// <param name="records">The records, in stream order.</param>
    /// <param name="cancellationToken">Cancels the puts.</param>
    /// <param name="streamed">Whether they were pulled from a peer (their delays are recorded by path <c>stream</c>), rather than imported.</param>
    public ValueTask<ReceivedBatch> ReceiveManyAsync(ReadOnlyMemory<UnverifiedRecord> records, CancellationToken cancellationToken, bool streamed = false)
    {
        try
        {
            _lifecycle.EnsureRunning();
            if (_puts.SynchronousStore is { } synchronousStore)
            {
                return new ValueTask<ReceivedBatch>(ReceiveSynchronously(synchronousStore, records.Span, cancellationToken, streamed && ReplicationDelay.Enabled));
            }
        }
#pragma warning disable CA1031 // Not swallowed: faulted into the returned task, as an async method would.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<ReceivedBatch>(ex);
        }

        return ReceiveThroughPutsAsync(records, cancellationToken, streamed && ReplicationDelay.Enabled);
    }

    /// <summary>Verifies and puts each record in turn into a synchronous-put store; indexes every one put.</summary>
    private ReceivedBatch ReceiveSynchronously(ISynchronousPutStore store, ReadOnlySpan<UnverifiedRecord> records, CancellationToken cancellationToken, bool recordDelays)
    {
        long now = recordDelays ? _time.GetUtcNow().ToUnixTimeMilliseconds() : 0;
        AssertionHash[] stored = ArrayPool<AssertionHash>.Shared.Rent(Math.Max(1, records.Length));
        int count = 0, added = 0;
        string? reason = null;
        try
        {
            for (; count < records.Length; count++)
            {
                if (count + StorePuts.PrefetchDistance < records.Length)
                {
                    store.Prefetch(records[count + StorePuts.PrefetchDistance].Hash); // the hash the record claims: only a hint, nothing is put before it is verified
                }

                ref readonly UnverifiedRecord record = ref records[count];
                HlcTimestamp timestamp = record.Timestamp;
                if ((reason = _verifier.Verify(record.Hash, record.Data.Span, ref timestamp)) is not null)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (_puts.PutReceived(store, record.Hash, record.Data, timestamp))
                {
                    added++;
                    if (recordDelays && !record.Timestamp.IsNone)
                    {
                        ReplicationDelay.Record(now, timestamp, ReplicationDelay.Stream);
                    }
                }

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
    /// Verifies the records up to the first that fails, then puts those through <see cref="StorePuts.PutManyAsync"/>; the batch's
    /// arrays are pooled, and the records' bytes are lent to the store's <see cref="IAssertionStore.PutManyAsync"/> (valid until it completes).
    /// </summary>
    private async ValueTask<ReceivedBatch> ReceiveThroughPutsAsync(ReadOnlyMemory<UnverifiedRecord> records, CancellationToken cancellationToken, bool recordDelays)
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
                data[verified] = record.Data; // lent to the store's PutManyAsync, which copies what it keeps
                timestamps[verified] = timestamp;
            }

            await _puts.PutManyAsync(verified, hashes, data, timestamps, results, cancellationToken).ConfigureAwait(false);
            int added = 0;
            long now = recordDelays ? _time.GetUtcNow().ToUnixTimeMilliseconds() : 0;
            for (int i = 0; i < verified; i++)
            {
                if (results[i].Added)
                {
                    added++;
                    if (recordDelays && !records.Span[i].Timestamp.IsNone)
                    {
                        ReplicationDelay.Record(now, timestamps[i], ReplicationDelay.Stream);
                    }
                }
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

    /// <summary>Records the replication delay of one new record that arrived now by <paramref name="path"/>.</summary>
    private void RecordDelay(HlcTimestamp timestamp, KeyValuePair<string, object?> path)
    {
        if (ReplicationDelay.Enabled)
        {
            ReplicationDelay.Record(_time.GetUtcNow().ToUnixTimeMilliseconds(), timestamp, path);
        }
    }

    /// <summary>Stores a verified record, indexes it and observes its timestamp; returns whether it was new to the store.</summary>
    private async ValueTask<bool> StoreAsync(AssertionRecord record, CancellationToken cancellationToken)
    {
        bool added = await _store.PutAsync(record, cancellationToken).ConfigureAwait(false);
        _index.AddDeferred(record.Hash);
        _clock.TryObserve(record.Timestamp, out _);
        return added;
    }
}
