using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// Live gossip: a bounded queue of newly stored assertions and the workers that push them to up to
/// <see cref="SyncNodeOptions.GossipFanout"/> random peers. Under backlog, queued assertions travel together
/// (<c>GossipBatch</c>, or unary to a v1 peer, see <see cref="PeerCalls.PushAsync"/>); one retry loop serves pushes of
/// one assertion or many. A full queue drops the push, never the assertion: anti-entropy delivers it later.
/// </summary>
internal sealed class GossipPump
{
    /// <summary>The most queued assertions one worker sends together.</summary>
    public const int LiveBatch = 256;

    private readonly SyncNodeOptions _options;
    private readonly PeerTable _peers;
    private readonly NodeRandomness _retry;
    private readonly NodeLifecycle _lifecycle;
    private readonly bool _copyOnEnqueue;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Channel<AssertionRecord> _queue;

    // copyOnEnqueue: queued records may hold a caller's buffer (lent for a call only) and need bytes of their own.
    public GossipPump(
        SyncNodeOptions options, PeerTable peers, NodeRandomness retry, NodeLifecycle lifecycle, bool copyOnEnqueue, ILogger logger, TimeProvider timeProvider)
    {
        _options = options;
        _peers = peers;
        _retry = retry;
        _lifecycle = lifecycle;
        _copyOnEnqueue = copyOnEnqueue;
        _logger = logger;
        _timeProvider = timeProvider;
        _queue = Channel.CreateBounded<AssertionRecord>(new BoundedChannelOptions(options.GossipQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; ingest never waits.
            SingleReader = false,
            SingleWriter = false,
        });
    }

    /// <summary>How many assertions wait to be gossiped.</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>Whether new assertions are gossiped now: a fanout, at least one peer, and the node running.</summary>
    public bool Enabled => _options.GossipFanout != 0 && _peers.Snapshot.Length != 0 && _lifecycle.IsRunning;

    /// <summary>Queues a newly stored record, with bytes of its own; drops the push (counted and logged) when the queue is full.</summary>
    public void Enqueue(AssertionRecord record)
    {
        if (!Enabled)
        {
            return;
        }

        if (_copyOnEnqueue)
        {
            record = new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp);
        }

        if (!_queue.Writer.TryWrite(record))
        {
            SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "queue_full"));
            SyncLog.GossipQueueFull(_logger, record.Hash);
        }
    }

    /// <summary>Starts the workers; they end when <paramref name="cancellationToken"/> is cancelled or the queue completes.</summary>
    public void StartWorkers(List<Task> workers, CancellationToken cancellationToken)
    {
        for (int i = 0; i < _options.GossipConcurrency; i++)
        {
            workers.Add(Task.Run(() => WorkerAsync(cancellationToken), CancellationToken.None));
        }
    }

    /// <summary>Accepts no more records (queued ones are discarded with the node).</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Gossips one queued assertion (for deterministic simulation, where no worker runs).</summary>
    public async ValueTask<bool> PumpOnceAsync(CancellationToken cancellationToken)
    {
        if (!_queue.Reader.TryRead(out AssertionRecord? record))
        {
            return false;
        }

        await SendToPeersAsync(new[] { record }, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task WorkerAsync(CancellationToken cancellationToken)
    {
        try
        {
            ChannelReader<AssertionRecord> reader = _queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out AssertionRecord? record))
                {
                    try
                    {
                        await SendToPeersAsync(Drain(reader, record), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }
#pragma warning disable CA1031 // A background loop must never take the host down.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        SyncLog.BackgroundLoopFailed(_logger, ex);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The first record and, under backlog, up to <see cref="LiveBatch"/> in all.</summary>
    private static AssertionRecord[] Drain(ChannelReader<AssertionRecord> reader, AssertionRecord first)
    {
        if (!reader.TryRead(out AssertionRecord? second))
        {
            return new[] { first };
        }

        var batch = new List<AssertionRecord>(Math.Min(LiveBatch, reader.Count + 2)) { first, second };
        while (batch.Count < LiveBatch && reader.TryRead(out AssertionRecord? next))
        {
            batch.Add(next);
        }

        return batch.ToArray();
    }

    private async Task SendToPeersAsync(AssertionRecord[] batch, CancellationToken cancellationToken)
    {
        PeerEntry[] targets = _retry.Pick(_peers.Snapshot, _options.GossipFanout);
        if (targets.Length == 0)
        {
            return;
        }

        if (targets.Length == 1)
        {
            await SendAsync(targets[0], batch, cancellationToken).ConfigureAwait(false);
            return;
        }

        var sends = new Task[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            sends[i] = SendAsync(targets[i], batch, cancellationToken);
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    /// <summary>Pushes a batch (of one or more) to one peer, retrying transport failures with backoff, then giving up.</summary>
    private async Task SendAsync(PeerEntry target, AssertionRecord[] batch, CancellationToken cancellationToken)
    {
        using Activity? activity = SyncDiagnostics.ActivitySource.StartActivity("StemeDb.Sync.Gossip", ActivityKind.Client);
        activity?.SetTag("stemedb.sync.peer", target.Peer.Name);
        for (int attempt = 1; ; attempt++)
        {
            if (target.IsRemoved)
            {
                return;
            }

            try
            {
                if (batch.Length == 1)
                {
                    Count(target, batch[0], await target.Calls.GossipAsync(batch[0], cancellationToken).ConfigureAwait(false));
                }
                else
                {
                    PushAnswer answer = await target.Calls.PushAsync(batch, cancellationToken).ConfigureAwait(false);
                    for (int i = 0; i < batch.Length; i++)
                    {
                        Count(target, batch[i], answer.Results[i]);
                    }
                }

                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (SyncPeerException ex) when (!NodeRandomness.IsRetryable(ex.Code))
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncDiagnostics.GossipDropped.Add(batch.Length, SyncDiagnostics.Tag("reason", "not_retryable"));
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
                SyncDiagnostics.GossipDropped.Add(batch.Length, SyncDiagnostics.Tag("reason", "retries_exhausted"));
                SyncLog.GossipAbandoned(_logger, batch[0].Hash, target.Peer.Name, attempt);
                return;
            }

            await Task.Delay(_retry.RetryDelay(attempt), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Count(PeerEntry target, AssertionRecord record, GossipResult result)
    {
        if (result.Accepted)
        {
            SyncDiagnostics.GossipSent.Add(1);
            SyncDiagnostics.BytesSent.Add(record.Data.Length, SyncDiagnostics.Tag("kind", "gossip"));
        }
        else
        {
            SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "peer_rejected"));
            SyncLog.GossipRejectedByPeer(_logger, target.Peer.Name, record.Hash, result.Error);
        }
    }
}
