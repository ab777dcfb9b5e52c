using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>What a fetch answer brought: stored records, their bytes, and records refused.</summary>
internal readonly record struct FetchedOutcome(int Stored, long Bytes, int Rejected);

/// <summary>
/// The one receive path for assertions from peers, whatever brought them (a gossip push, a batch, a fetch answer):
/// verify (lengths, size, BLAKE3, content, clock drift), stamp an unstamped record, store, index, observe the clock,
/// and forward what was new by gossip. A rejection stores nothing and leaves the clock unchanged.
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

    // storeCopies: the store copies a record's bytes inside PutAsync (a synchronous-put store), so that a record may
    // lend it the transport's buffer; any other store gets bytes of its own.
    public IncomingAssertions(
        IAssertionStore store, bool storeCopies, MerkleIndex index, HybridLogicalClock clock, AssertionVerifier verifier, GossipPump gossip, ILogger logger)
    {
        _store = store;
        _storeCopies = storeCopies;
        _index = index;
        _clock = clock;
        _verifier = verifier;
        _gossip = gossip;
        _logger = logger;
    }

    /// <summary>A pushed assertion: accepted when stored or already held, otherwise rejected with the reason.</summary>
    public async ValueTask<GossipResult> ReceiveGossipAsync(AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp timestamp, CancellationToken cancellationToken)
    {
        string? reason = _verifier.Verify(hash, data.Span, ref timestamp);
        if (reason is not null)
        {
            return Reject(reason);
        }

        if (_index.Contains(hash))
        {
            _clock.TryObserve(timestamp, out _);
            SyncDiagnostics.GossipReceived.Add(1, SyncDiagnostics.Tag("new", false));
            return GossipResult.Ok;
        }

        var record = new AssertionRecord(hash, _storeCopies ? data : data.ToArray(), timestamp);
        bool added = await StoreAsync(record, cancellationToken).ConfigureAwait(false);
        SyncDiagnostics.GossipReceived.Add(1, SyncDiagnostics.Tag("new", added));
        if (added)
        {
            SyncDiagnostics.BytesReceived.Add(record.Data.Length, SyncDiagnostics.Tag("kind", "gossip"));
            _gossip.Enqueue(record);
        }

        return GossipResult.Ok;
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

            if (timestamp != record.Timestamp)
            {
                record = new AssertionRecord(record.Hash, record.Data, timestamp); // stamped here (a v1 answer)
            }

            if (await StoreAsync(record, cancellationToken).ConfigureAwait(false))
            {
                stored++;
                bytes += record.Data.Length;
            }
        }

        return new FetchedOutcome(stored, bytes, rejected);
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
