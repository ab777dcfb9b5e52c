using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using StemeDb.Sync.Engine.Internal;

namespace StemeDb.Sync;

/// <summary>Live gossip in batches when the gossip queue has a backlog (the GossipBatch extension, unary against v1 peers).</summary>
public sealed partial class SyncNode
{
    /// <summary>The most queued assertions one gossip worker sends together.</summary>
    internal const int LiveGossipBatch = 256;

    private static List<AssertionRecord>? DrainGossipBatch(ChannelReader<AssertionRecord> reader, AssertionRecord first)
    {
        if (!reader.TryRead(out AssertionRecord? second))
        {
            return null;
        }

        var batch = new List<AssertionRecord>(Math.Min(LiveGossipBatch, reader.Count + 2)) { first, second };
        while (batch.Count < LiveGossipBatch && reader.TryRead(out AssertionRecord? next))
        {
            batch.Add(next);
        }

        return batch;
    }

    private async Task GossipBatchToPeersAsync(List<AssertionRecord> batch, CancellationToken cancellationToken)
    {
        PeerEntry[] targets = PickPeers(_options.GossipFanout);
        if (targets.Length == 0)
        {
            return;
        }

        var sends = new Task[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            sends[i] = SendGossipBatchAsync(targets[i], batch, cancellationToken);
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private async Task SendGossipBatchAsync(PeerEntry target, List<AssertionRecord> batch, CancellationToken cancellationToken)
    {
        PeerCapabilities capabilities = _capabilities.GetValue(target.Peer, static _ => new PeerCapabilities());
        for (int attempt = 1; ; attempt++)
        {
            if (target.IsRemoved)
            {
                return;
            }

            if (capabilities.NoGossipBatch)
            {
                foreach (AssertionRecord record in batch)
                {
                    await SendGossipAsync(target, record, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            try
            {
                IReadOnlyList<GossipResult> results;
                using (CallDeadline call = Deadline(cancellationToken))
                {
                    results = await target.Peer.GossipBatchAsync(batch, call.Token).ConfigureAwait(false);
                }

                if (results is null || results.Count != batch.Count)
                {
                    throw new SyncPeerException(
                        SyncStatusCode.InvalidResponse,
                        $"Peer '{target.Peer.Name}' answered a gossip batch of {batch.Count} with {results?.Count ?? 0} results.");
                }

                for (int i = 0; i < batch.Count; i++)
                {
                    if (results[i].Accepted)
                    {
                        SyncDiagnostics.GossipSent.Add(1);
                        SyncDiagnostics.BytesSent.Add(batch[i].Data.Length, SyncDiagnostics.Tag("kind", "gossip"));
                    }
                    else
                    {
                        SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "peer_rejected"));
                        SyncLog.GossipRejectedByPeer(_logger, target.Peer.Name, batch[i].Hash, results[i].Error);
                    }
                }

                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (SyncPeerException ex) when (ex.Code == SyncStatusCode.Unimplemented)
            {
                capabilities.NoGossipBatch = true; // a v1 peer: the loop sends one by one
                continue;
            }
            catch (SyncPeerException ex) when (!IsRetryable(ex.Code))
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncDiagnostics.GossipDropped.Add(batch.Count, SyncDiagnostics.Tag("reason", "not_retryable"));
                SyncLog.GossipSendFailed(_logger, batch[0].Hash, target.Peer.Name, attempt, ex);
                return;
            }
#pragma warning disable CA1031 // Any transport failure is retried, then given up; anti-entropy catches up.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncLog.GossipSendFailed(_logger, batch[0].Hash, target.Peer.Name, attempt, ex);
            }

            if (attempt >= _options.GossipMaxAttempts)
            {
                SyncDiagnostics.GossipDropped.Add(batch.Count, SyncDiagnostics.Tag("reason", "retries_exhausted"));
                SyncLog.GossipAbandoned(_logger, batch[0].Hash, target.Peer.Name, attempt);
                return;
            }

            await Task.Delay(RetryDelay(attempt), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
