using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>The outcome of a bulk push.</summary>
internal readonly record struct PushOutcome(int Pushed, long BytesSent, int Calls, int Rejected);

/// <summary>
/// A push of many records to one peer, fed one record at a time (anti-entropy's push of what a peer lacks, or an
/// assertion stream pushed to a node): records go in batches of at most <see cref="SyncProtocol.MaxGossipBatch"/>
/// assertions and <see cref="MaxBatchBytes"/>, at most <see cref="PushWindow"/> in flight, so memory stays bounded and
/// a slow receiver slows the sender. Each batch goes through <see cref="PeerCalls.PushAsync"/>, which falls back to
/// unary <c>Gossip</c> for a v1 peer.
/// </summary>
internal sealed class BulkPush
{
    /// <summary>How many batches may be in flight to one peer: a slow receiver holds the sender here.</summary>
    public const int PushWindow = 2;

    /// <summary>
    /// The most assertion bytes one batch carries: the protocol's message limit (<see cref="SyncProtocol.MaxMessageBytes"/>)
    /// less 1 MiB of headroom for the batch's framing (a hash and a timestamp per assertion) and the transport's own.
    /// </summary>
    public const int MaxBatchBytes = SyncProtocol.MaxMessageBytes - (1024 * 1024);

    private readonly PeerCalls _peer;
    private readonly Action<AssertionHash, string>? _onRejected;
    private readonly Queue<(Task<PushAnswer> Call, AssertionRecord[] Batch)> _inFlight = new();
    private readonly List<AssertionRecord> _pending = new();
    private long _pendingBytes;
    private int _pushed, _calls, _rejected;
    private long _bytes;

    public BulkPush(PeerCalls peer, Action<AssertionHash, string>? onRejected)
    {
        _peer = peer;
        _onRejected = onRejected;
    }

    /// <summary>What was pushed so far (answered batches only).</summary>
    public PushOutcome Outcome => new(_pushed, _bytes, _calls, _rejected);

    /// <summary>Anti-entropy's push: the records of <paramref name="hashes"/>, read from the store in chunks.</summary>
    public static async ValueTask<PushOutcome> PushAsync(
        IAssertionStore store,
        PeerCalls peer,
        IReadOnlyList<AssertionHash> hashes,
        Action<AssertionHash, string>? onRejected,
        CancellationToken cancellationToken)
    {
        var push = new BulkPush(peer, onRejected);
        try
        {
            for (int start = 0; start < hashes.Count; start += SyncProtocol.MaxFetchHashes)
            {
                var chunk = new AssertionHash[Math.Min(SyncProtocol.MaxFetchHashes, hashes.Count - start)];
                for (int i = 0; i < chunk.Length; i++)
                {
                    chunk[i] = hashes[start + i];
                }

                IReadOnlyList<AssertionRecord> records = await store.GetManyAsync(chunk, cancellationToken).ConfigureAwait(false);
                foreach (AssertionRecord record in records)
                {
                    await push.AddAsync(record, cancellationToken).ConfigureAwait(false);
                }
            }

            await push.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await push.AbandonAsync().ConfigureAwait(false);
        }

        return push.Outcome;
    }

    /// <summary>Adds a record; sends the pending batch first when the record would not fit in it.</summary>
    public async ValueTask AddAsync(AssertionRecord record, CancellationToken cancellationToken)
    {
        if (_pending.Count > 0 && (_pending.Count == SyncProtocol.MaxGossipBatch || _pendingBytes + record.Data.Length > MaxBatchBytes))
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        _pending.Add(record);
        _pendingBytes += record.Data.Length;
    }

    /// <summary>Sends what is pending and waits for every answer.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        while (_inFlight.Count > 0)
        {
            await CompleteOldestAsync().ConfigureAwait(false);
        }
    }

    /// <summary>After a failure: observes the calls still in flight so that none faults unobserved.</summary>
    public async ValueTask AbandonAsync()
    {
        while (_inFlight.Count > 0)
        {
            (Task<PushAnswer> task, _) = _inFlight.Dequeue();
            try
            {
                await task.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The first failure is already propagating.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        AssertionRecord[] batch = _pending.ToArray();
        _pending.Clear();
        _pendingBytes = 0;

        // Until the peer has answered one batch, send one at a time: a v1 peer costs one refused call. Unary pushes
        // (a v1 peer) go one batch at a time too.
        int window = _calls == 0 || !_peer.Capabilities.GossipBatch ? 1 : PushWindow;
        while (_inFlight.Count >= window)
        {
            await CompleteOldestAsync().ConfigureAwait(false);
        }

        _inFlight.Enqueue((SendAsync(batch, cancellationToken), batch));
    }

    private async Task<PushAnswer> SendAsync(AssertionRecord[] batch, CancellationToken cancellationToken) =>
        await _peer.PushAsync(batch, cancellationToken).ConfigureAwait(false);

    private async ValueTask CompleteOldestAsync()
    {
        (Task<PushAnswer> task, AssertionRecord[] batch) = _inFlight.Dequeue();
        PushAnswer answer = await task.ConfigureAwait(false);
        _calls += answer.Calls;
        for (int i = 0; i < batch.Length; i++)
        {
            if (answer.Results[i].Accepted)
            {
                _pushed++;
                _bytes += batch[i].Data.Length;
            }
            else
            {
                _rejected++;
                _onRejected?.Invoke(batch[i].Hash, answer.Results[i].Error);
            }
        }
    }
}
