using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>The outcome of a bulk push.</summary>
internal readonly record struct PushOutcome(int Pushed, long BytesSent, int Calls, int Rejected);

/// <summary>
/// Anti-entropy's push of what a peer lacks: records read from the store in chunks, sent in batches of at most
/// <see cref="SyncProtocol.MaxGossipBatch"/> assertions and <see cref="MaxBatchBytes"/>, at most
/// <see cref="PushWindow"/> in flight, so memory stays bounded and a slow receiver slows the sender. Each batch goes
/// through <see cref="PeerCalls.PushAsync"/>, which falls back to unary <c>Gossip</c> for a v1 peer.
/// </summary>
internal static class BulkPush
{
    /// <summary>How many batches may be in flight to one peer: a slow receiver holds the sender here.</summary>
    public const int PushWindow = 2;

    /// <summary>The most assertion bytes one batch carries, leaving headroom under the 4 MiB default message limit.</summary>
    public const int MaxBatchBytes = 3 * 1024 * 1024;

    public static async ValueTask<PushOutcome> PushAsync(
        IAssertionStore store,
        PeerCalls peer,
        IReadOnlyList<AssertionHash> hashes,
        Action<AssertionHash, string>? onRejected,
        CancellationToken cancellationToken)
    {
        int pushed = 0, calls = 0, rejected = 0;
        long bytes = 0;
        var inFlight = new Queue<(Task<PushAnswer> Call, AssertionRecord[] Batch)>();
        var pending = new List<AssertionRecord>();
        long pendingBytes = 0;

        async Task<PushAnswer> SendAsync(AssertionRecord[] batch) =>
            await peer.PushAsync(batch, cancellationToken).ConfigureAwait(false);

        async ValueTask CompleteOldestAsync()
        {
            (Task<PushAnswer> task, AssertionRecord[] batch) = inFlight.Dequeue();
            PushAnswer answer = await task.ConfigureAwait(false);
            calls += answer.Calls;
            for (int i = 0; i < batch.Length; i++)
            {
                if (answer.Results[i].Accepted)
                {
                    pushed++;
                    bytes += batch[i].Data.Length;
                }
                else
                {
                    rejected++;
                    onRejected?.Invoke(batch[i].Hash, answer.Results[i].Error);
                }
            }
        }

        async ValueTask FlushAsync()
        {
            if (pending.Count == 0)
            {
                return;
            }

            AssertionRecord[] batch = pending.ToArray();
            pending.Clear();
            pendingBytes = 0;

            // Until the peer has answered one batch, send one at a time: a v1 peer costs one refused call. Unary pushes
            // (a v1 peer) go one batch at a time too.
            int window = calls == 0 || !peer.Capabilities.GossipBatch ? 1 : PushWindow;
            while (inFlight.Count >= window)
            {
                await CompleteOldestAsync().ConfigureAwait(false);
            }

            inFlight.Enqueue((SendAsync(batch), batch));
        }

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
                    if (pending.Count > 0 && (pending.Count == SyncProtocol.MaxGossipBatch || pendingBytes + record.Data.Length > MaxBatchBytes))
                    {
                        await FlushAsync().ConfigureAwait(false);
                    }

                    pending.Add(record);
                    pendingBytes += record.Data.Length;
                }
            }

            await FlushAsync().ConfigureAwait(false);
            while (inFlight.Count > 0)
            {
                await CompleteOldestAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            // On failure, observe the calls still in flight so none faults unobserved.
            while (inFlight.Count > 0)
            {
                (Task<PushAnswer> task, _) = inFlight.Dequeue();
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

        return new PushOutcome(pushed, bytes, calls, rejected);
    }
}
