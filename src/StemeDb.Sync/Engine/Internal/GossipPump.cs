using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>A record waiting to be gossiped, and the link it came on (<see langword="null"/> for local ingest or an unknown sender).</summary>
internal readonly record struct QueuedRecord(AssertionRecord Record, PeerEntry? Origin);

/// <summary>
/// Live gossip: a bounded queue of newly stored assertions and the workers that send them on. To peers with the
/// <c>Broadcast</c> extension they go by the broadcast tree (<see cref="BroadcastTree"/>): payloads on eager links,
/// hashes announced on up to <see cref="BroadcastLimits.LazyFanout"/> lazy ones, never back on the link a record came
/// on. To peers without it (v1 nodes) they are pushed to up to <see cref="SyncNodeOptions.GossipFanout"/> of them at
/// random. Under backlog, queued assertions travel together (<c>Broadcast</c>, <c>GossipBatch</c>, or unary to a v1
/// peer, see <see cref="PeerCalls.PushAsync"/>); one retry loop serves every send. A full queue drops the push, never
/// the assertion: anti-entropy delivers it later. The graft loop asks announcers for hashes still missing.
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
    private readonly Channel<QueuedRecord> _queue;
    private readonly BroadcastTree _tree;

    // copyOnEnqueue: queued records may hold a caller's buffer (lent for a call only) and need bytes of their own.
    public GossipPump(
        SyncNodeOptions options, PeerTable peers, BroadcastTree tree, NodeRandomness retry, NodeLifecycle lifecycle, bool copyOnEnqueue, ILogger logger, TimeProvider timeProvider)
    {
        _tree = tree;
        _options = options;
        _peers = peers;
        _retry = retry;
        _lifecycle = lifecycle;
        _copyOnEnqueue = copyOnEnqueue;
        _logger = logger;
        _timeProvider = timeProvider;
        _queue = Channel.CreateBounded<QueuedRecord>(new BoundedChannelOptions(options.GossipQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; ingest never waits.
            SingleReader = false,
            SingleWriter = false,
        });
    }

    /// <summary>
    /// Receives the payloads a graft brought from <c>peer</c>, as pushed records (verified, stored, forwarded on); set
    /// once by the node, which owns the receive path.
    /// </summary>
    public Func<PeerEntry, IReadOnlyList<AssertionRecord>, CancellationToken, ValueTask>? ReceiveGrafted { get; set; }

    /// <summary>How many assertions wait to be gossiped.</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>Whether new assertions are gossiped now: a fanout, at least one peer, and the node running.</summary>
    public bool Enabled => _options.GossipFanout != 0 && _peers.Snapshot.Length != 0 && _lifecycle.IsRunning;

    /// <summary>
    /// Queues a newly stored record, with bytes of its own, to be sent on every link but <paramref name="origin"/>'s;
    /// drops the push (counted and logged) when the queue is full.
    /// </summary>
    public void Enqueue(AssertionRecord record, PeerEntry? origin = null)
    {
        if (!Enabled)
        {
            return;
        }

        if (_copyOnEnqueue)
        {
            record = new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp);
        }

        if (!_queue.Writer.TryWrite(new QueuedRecord(record, origin)))
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

        workers.Add(Task.Run(() => GraftLoopAsync(cancellationToken), CancellationToken.None));
    }

    /// <summary>Accepts no more records (queued ones are discarded with the node).</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Gossips one queued assertion (for deterministic simulation, where no worker runs).</summary>
    public async ValueTask<bool> PumpOnceAsync(CancellationToken cancellationToken)
    {
        if (!_queue.Reader.TryRead(out QueuedRecord record))
        {
            return false;
        }

        await SendToPeersAsync(new[] { record }, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Sends the grafts due now (<see cref="BroadcastTree.DueGrafts"/>), each to its announcer, whose link becomes eager;
    /// the payloads answered go through the receive path. Returns how many hashes were asked for.
    /// </summary>
    public async ValueTask<int> GraftDueAsync(CancellationToken cancellationToken)
    {
        await IdentifyAsync(cancellationToken).ConfigureAwait(false);
        List<(PeerEntry Peer, List<AssertionHash> Hashes)> due = _tree.DueGrafts();
        if (due.Count == 0)
        {
            return 0;
        }

        int asked = 0;
        var grafts = new Task[due.Count];
        for (int i = 0; i < due.Count; i++)
        {
            asked += due[i].Hashes.Count;
            grafts[i] = GraftAsync(due[i].Peer, due[i].Hashes, cancellationToken);
        }

        await Task.WhenAll(grafts).ConfigureAwait(false);
        return asked;
    }

    /// <summary>
    /// Pings peers whose node id the node has not learned (at most <see cref="BroadcastLimits.MaxIdentifying"/> at a
    /// time, each again after <see cref="BroadcastLimits.IdentifyRetry"/>): a broadcast message names only its sender's
    /// id, and the node needs it to know which of its links the message came on.
    /// </summary>
    private async Task IdentifyAsync(CancellationToken cancellationToken)
    {
        long now = _timeProvider.GetTimestamp();
        List<Task>? pings = null;
        foreach (PeerEntry peer in _peers.Snapshot)
        {
            PeerSyncState state = peer.Calls.Capabilities;
            if (state.RemoteId is not null || !state.Broadcast || peer.IsRemoved
                || (state.IdentifiedAt != long.MinValue && _timeProvider.GetElapsedTime(state.IdentifiedAt, now) < BroadcastLimits.IdentifyRetry))
            {
                continue;
            }

            state.IdentifiedAt = now;
            (pings ??= new List<Task>()).Add(IdentifyAsync(peer, cancellationToken));
            if (pings.Count == BroadcastLimits.MaxIdentifying)
            {
                break;
            }
        }

        if (pings is not null)
        {
            await Task.WhenAll(pings).ConfigureAwait(false);
        }
    }

    private async Task IdentifyAsync(PeerEntry peer, CancellationToken cancellationToken)
    {
        try
        {
            PingResult answer = await peer.Calls.PingAsync(_tree.Self, cancellationToken).ConfigureAwait(false);
            if (answer.NodeId != _tree.Self)
            {
                BroadcastTree.Learn(peer, answer.NodeId.ToArray());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Unreachable now: pinged again later.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task GraftAsync(PeerEntry peer, List<AssertionHash> hashes, CancellationToken cancellationToken)
    {
        var graft = new ReadOnlyMemory<byte>[hashes.Count];
        for (int i = 0; i < graft.Length; i++)
        {
            graft[i] = hashes[i].ToArray();
        }

        peer.Calls.Capabilities.Eager = true;
        SyncDiagnostics.BroadcastGrafted.Add(graft.Length);
        var request = new BroadcastRequest(_tree.SelfBytes, Array.Empty<GossipMessage>(), Array.Empty<ReadOnlyMemory<byte>>(), graft, Prune: false);
        try
        {
            BroadcastResponse response = await peer.Calls.BroadcastAsync(request, cancellationToken).ConfigureAwait(false);
            BroadcastTree.Learn(peer, response.NodeId.Span);
            if (response.Grafted.Count != 0 && ReceiveGrafted is { } receive)
            {
                await receive(peer, response.Grafted, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A failed graft is given up: the next announcer, or anti-entropy, delivers the hash.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (ex is SyncPeerException { Code: SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse })
            {
                peer.Calls.Capabilities.Broadcast = false;
            }

            SyncDiagnostics.GossipSendFailures.Add(1);
            SyncLog.GossipSendFailed(_logger, hashes[0], peer.Peer.Name, 1, ex);
        }
    }

    private async Task GraftLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    await GraftDueAsync(cancellationToken).ConfigureAwait(false);
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

                await Task.Delay(BroadcastLimits.GraftCheckInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task WorkerAsync(CancellationToken cancellationToken)
    {
        try
        {
            ChannelReader<QueuedRecord> reader = _queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out QueuedRecord record))
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
    private static QueuedRecord[] Drain(ChannelReader<QueuedRecord> reader, QueuedRecord first)
    {
        if (!reader.TryRead(out QueuedRecord second))
        {
            return new[] { first };
        }

        var batch = new List<QueuedRecord>(Math.Min(LiveBatch, reader.Count + 2)) { first, second };
        while (batch.Count < LiveBatch && reader.TryRead(out QueuedRecord next))
        {
            batch.Add(next);
        }

        return batch.ToArray();
    }

    private async Task SendToPeersAsync(QueuedRecord[] batch, CancellationToken cancellationToken)
    {
        await IdentifyAsync(cancellationToken).ConfigureAwait(false);
        _tree.EnsureEagerLinks();
        PeerEntry[] peers = _peers.Snapshot;
        var sends = new List<Task>();
        var plain = new List<PeerEntry>();
        var lazy = new List<PeerEntry>();
        foreach (PeerEntry peer in peers)
        {
            if (!peer.Calls.Capabilities.Broadcast)
            {
                plain.Add(peer);
            }
            else if (peer.Calls.Capabilities.Eager)
            {
                AddSend(sends, peer, batch, announce: false, cancellationToken);
            }
            else
            {
                lazy.Add(peer);
            }
        }

        foreach (PeerEntry peer in _retry.Pick(lazy.ToArray(), BroadcastLimits.LazyFanout))
        {
            AddSend(sends, peer, batch, announce: true, cancellationToken);
        }

        foreach (PeerEntry peer in _retry.Pick(plain.ToArray(), _options.GossipFanout))
        {
            AssertionRecord[] records = Except(batch, peer);
            if (records.Length != 0)
            {
                sends.Add(SendAsync(peer, records, cancellationToken));
            }
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private void AddSend(List<Task> sends, PeerEntry peer, QueuedRecord[] batch, bool announce, CancellationToken cancellationToken)
    {
        AssertionRecord[] records = Except(batch, peer);
        if (records.Length != 0)
        {
            sends.Add(BroadcastAsync(peer, records, announce, cancellationToken));
        }
    }

    /// <summary>The batch's records that did not come on <paramref name="peer"/>'s link: no payload goes back where it came from.</summary>
    private static AssertionRecord[] Except(QueuedRecord[] batch, PeerEntry peer)
    {
        int keep = 0;
        foreach (QueuedRecord queued in batch)
        {
            keep += ReferenceEquals(queued.Origin, peer) ? 0 : 1;
        }

        var records = new AssertionRecord[keep];
        int next = 0;
        foreach (QueuedRecord queued in batch)
        {
            if (!ReferenceEquals(queued.Origin, peer))
            {
                records[next++] = queued.Record;
            }
        }

        return records;
    }

    /// <summary>
    /// Sends records on a broadcast link: their payloads on an eager one (in messages of at most
    /// <see cref="BulkPush.MaxBatchBytes"/>), their hashes on a lazy one. A peer that answers <c>UNIMPLEMENTED</c> (or
    /// outside the protocol) loses the extension for good and gets the payloads the v1 way.
    /// </summary>
    private async Task BroadcastAsync(PeerEntry target, AssertionRecord[] records, bool announce, CancellationToken cancellationToken)
    {
        try
        {
            if (announce)
            {
                for (int start = 0; start < records.Length; start += BroadcastLimits.MaxHashes)
                {
                    int count = Math.Min(BroadcastLimits.MaxHashes, records.Length - start);
                    var hashes = new ReadOnlyMemory<byte>[count];
                    for (int i = 0; i < count; i++)
                    {
                        hashes[i] = records[start + i].Hash.ToArray();
                    }

                    await SendBroadcastAsync(target, Array.Empty<AssertionRecord>(), hashes, cancellationToken).ConfigureAwait(false);
                    SyncDiagnostics.BroadcastAnnounced.Add(count, SyncDiagnostics.Tag("direction", "sent"));
                }

                return;
            }

            int first = 0;
            long bytes = 0;
            for (int i = 0; i <= records.Length; i++)
            {
                bool full = i == records.Length || i - first == SyncProtocol.MaxGossipBatch || (i > first && bytes + records[i].Data.Length > BulkPush.MaxBatchBytes);
                if (full && i > first)
                {
                    await SendBroadcastAsync(target, records[first..i], Array.Empty<ReadOnlyMemory<byte>>(), cancellationToken).ConfigureAwait(false);
                    first = i;
                    bytes = 0;
                }

                if (i < records.Length)
                {
                    bytes += records[i].Data.Length;
                }
            }
        }
        catch (SyncPeerException ex) when (ex.Code is SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse)
        {
            target.Calls.Capabilities.Broadcast = false; // a v1 peer, or one whose broadcast answers are unusable
            await SendAsync(target, records, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One broadcast message, retried like any push; learns the peer's id and follows a prune in its answer.</summary>
    private async Task SendBroadcastAsync(PeerEntry target, AssertionRecord[] records, ReadOnlyMemory<byte>[] announced, CancellationToken cancellationToken)
    {
        var messages = new GossipMessage[records.Length];
        for (int i = 0; i < messages.Length; i++)
        {
            AssertionRecord record = records[i];
            messages[i] = new GossipMessage(
                record.Hash.ToArray(), record.Data, record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.IsNone ? ReadOnlyMemory<byte>.Empty : record.Timestamp.NodeId.ToArray());
        }

        var request = new BroadcastRequest(_tree.SelfBytes, messages, announced, Array.Empty<ReadOnlyMemory<byte>>(), Prune: false);
        await RetryAsync(
            target,
            records.Length != 0 ? records[0].Hash : new AssertionHash(announced[0].Span),
            records.Length,
            async token =>
            {
                BroadcastResponse response = await target.Calls.BroadcastAsync(request, token).ConfigureAwait(false);
                BroadcastTree.Learn(target, response.NodeId.Span);
                if (response.Prune && target.Calls.Capabilities.Eager)
                {
                    target.Calls.Capabilities.Eager = false;
                    SyncDiagnostics.BroadcastPruned.Add(1, SyncDiagnostics.Tag("side", "remote"));
                }

                for (int i = 0; i < records.Length; i++)
                {
                    Count(target, records[i], response.Results[i]);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pushes a batch (of one or more) to one peer the v1 way (unary <c>Gossip</c>, or <c>GossipBatch</c>).</summary>
    private Task SendAsync(PeerEntry target, AssertionRecord[] batch, CancellationToken cancellationToken) =>
        RetryAsync(
            target,
            batch[0].Hash,
            batch.Length,
            async token =>
            {
                if (batch.Length == 1)
                {
                    Count(target, batch[0], await target.Calls.GossipAsync(batch[0], token).ConfigureAwait(false));
                    return;
                }

                PushAnswer answer = await target.Calls.PushAsync(batch, token).ConfigureAwait(false);
                for (int i = 0; i < batch.Length; i++)
                {
                    Count(target, batch[i], answer.Results[i]);
                }
            },
            cancellationToken,
            extension: false);

    /// <summary>
    /// One send to one peer, retrying transport failures with backoff, then giving up (anti-entropy catches up). For an
    /// extension's call, <c>UNIMPLEMENTED</c> and an answer outside the protocol reach the caller, which falls back.
    /// </summary>
    private async Task RetryAsync(
        PeerEntry target, AssertionHash first, int records, Func<CancellationToken, Task> send, CancellationToken cancellationToken, bool extension = true)
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
                await send(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (SyncPeerException ex) when (extension && ex.Code is SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse)
            {
                throw;
            }
            catch (SyncPeerException ex) when (!NodeRandomness.IsRetryable(ex.Code))
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncDiagnostics.GossipDropped.Add(records, SyncDiagnostics.Tag("reason", "not_retryable"));
                SyncLog.GossipSendFailed(_logger, first, target.Peer.Name, attempt, ex);
                return;
            }
#pragma warning disable CA1031 // Any transport failure is retried, then given up; anti-entropy catches up.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncLog.GossipSendFailed(_logger, first, target.Peer.Name, attempt, ex);
            }

            if (attempt >= _options.GossipMaxAttempts)
            {
                SyncDiagnostics.GossipDropped.Add(records, SyncDiagnostics.Tag("reason", "retries_exhausted"));
                SyncLog.GossipAbandoned(_logger, first, target.Peer.Name, attempt);
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
