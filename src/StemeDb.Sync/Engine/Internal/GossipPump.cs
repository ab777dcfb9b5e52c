using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>
/// A record waiting to be gossiped, the link it came on (<see langword="null"/> for local ingest or an unknown sender),
/// and whether it was pulled through a lazy link (it is then announced on every link, not pushed).
/// </summary>
internal readonly record struct QueuedRecord(AssertionRecord Record, PeerEntry? Origin, bool Pulled = false);

/// <summary>A record held back to be announced, and the links its payload (or its hash, at once) already went on.</summary>
internal sealed record HeldAnnouncement(QueuedRecord Record, PeerEntry[] PushedTo);

/// <summary>
/// Live gossip: a bounded queue of newly stored assertions and the workers that send them on. To peers with the
/// <c>Broadcast</c> extension they go by the broadcast tree (<see cref="BroadcastTree"/>): payloads at once on eager
/// links, and hashes after <see cref="BroadcastLimits.AnnounceDelay"/> on the lazy links of its broadcast view, never back on the link a record came on; a peer that asks for an announced hash gets its payload and its
/// link becomes eager. To peers without the extension (v1 nodes) they are pushed to up to
/// <see cref="SyncNodeOptions.GossipFanout"/> of them at random. Under backlog, queued assertions travel together
/// (<c>Broadcast</c>, <c>GossipBatch</c>, or unary to a v1 peer, see <see cref="PeerCalls.PushAsync"/>); one retry loop
/// serves every send. A full queue drops the push, never the assertion: anti-entropy delivers it later.
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
    private readonly object _announceGate = new();
    private readonly PriorityQueue<HeldAnnouncement, long> _announcements = new();
    private readonly Channel<bool> _announcementsWaiting = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

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

    /// <summary>How many assertions wait to be gossiped.</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>How many records are held back to be announced.</summary>
    public int HeldAnnouncements
    {
        get
        {
            lock (_announceGate)
            {
                return _announcements.Count;
            }
        }
    }

    /// <summary>Whether new assertions are gossiped now: a fanout, at least one peer, and the node running.</summary>
    public bool Enabled => _options.GossipFanout != 0 && _peers.Snapshot.Length != 0 && _lifecycle.IsRunning;

    /// <summary>
    /// Queues a newly stored record, with bytes of its own, to be sent on every link but <paramref name="origin"/>'s;
    /// drops the push (counted and logged) when the queue is full.
    /// </summary>
    public void Enqueue(AssertionRecord record, PeerEntry? origin = null, bool pulled = false)
    {
        if (!Enabled)
        {
            return;
        }

        if (_copyOnEnqueue)
        {
            record = new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp);
        }

        if (!_queue.Writer.TryWrite(new QueuedRecord(record, origin, pulled)))
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

        workers.Add(Task.Run(() => AnnounceLoopAsync(cancellationToken), CancellationToken.None));
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
    /// Sends the announcements due now: the hashes of records received or ingested at least
    /// <see cref="BroadcastLimits.AnnounceDelay"/> ago (and a random share of it again), on every link of the
    /// broadcast view their payloads did not go on; never on the link a record came on. A peer that asks for some of
    /// them gets their payloads, and its link becomes eager when it asks to graft. Returns how many records were announced.
    /// </summary>
    public async ValueTask<int> AnnounceDueAsync(CancellationToken cancellationToken)
    {
        await IdentifyAsync(cancellationToken).ConfigureAwait(false);
        long now = _timeProvider.GetTimestamp();
        var due = new List<HeldAnnouncement>();
        lock (_announceGate)
        {
            while (due.Count < BroadcastLimits.MaxHashes && _announcements.TryPeek(out HeldAnnouncement? next, out long at) && at <= now)
            {
                due.Add(_announcements.Dequeue());
            }
        }

        if (due.Count == 0)
        {
            return 0;
        }

        var sends = new List<Task>();
        foreach (PeerEntry peer in _tree.View())
        {
            if (Unsent(due, peer) is { Length: > 0 } records)
            {
                sends.Add(AnnounceAsync(peer, records, eager: false, cancellationToken));
            }
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        return due.Count;
    }

    /// <summary>The held records whose payloads did not go to <paramref name="peer"/> and did not come from it.</summary>
    private static AssertionRecord[] Unsent(List<HeldAnnouncement> held, PeerEntry peer)
    {
        var records = new List<AssertionRecord>(held.Count);
        foreach (HeldAnnouncement item in held)
        {
            if (!ReferenceEquals(item.Record.Origin, peer) && Array.IndexOf(item.PushedTo, peer) < 0)
            {
                records.Add(item.Record.Record);
            }
        }

        return records.ToArray();
    }

    /// <summary>
    /// Holds records back to be announced after <see cref="BroadcastLimits.AnnounceDelay"/> and a random share of it
    /// again (so that the nodes of a part of the tree cut off from the rest are not all told at once, and do not all ask
    /// at once); drops the announcement when too many wait.
    /// </summary>
    private void HoldForAnnouncement(QueuedRecord[] batch, PeerEntry[] pushedTo)
    {
        if (batch.Length == 0)
        {
            return;
        }

        TimeSpan delay = BroadcastLimits.AnnounceDelay + _retry.Jitter(BroadcastLimits.AnnounceDelay);
        long due = _timeProvider.GetTimestamp() + (long)(delay.TotalSeconds * _timeProvider.TimestampFrequency);
        lock (_announceGate)
        {
            if (_announcements.Count == 0)
            {
                _announcementsWaiting.Writer.TryWrite(true);
            }

            foreach (QueuedRecord record in batch)
            {
                if (_announcements.Count >= BroadcastLimits.MaxPendingAnnouncements)
                {
                    SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "announcements_full"));
                    continue;
                }

                _announcements.Enqueue(new HeldAnnouncement(record, pushedTo), due);
            }
        }
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

    /// <summary>Sends announcements as they fall due; sleeps while none wait.</summary>
    private async Task AnnounceLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    while (await AnnounceDueAsync(cancellationToken).ConfigureAwait(false) == BroadcastLimits.MaxHashes)
                    {
                    }
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

                if (NextAnnouncementIn() is { } wait)
                {
                    await Task.Delay(wait > BroadcastLimits.AnnounceInterval ? wait : BroadcastLimits.AnnounceInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await _announcementsWaiting.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>How long until the next held announcement is due; <see langword="null"/> when none is held.</summary>
    private TimeSpan? NextAnnouncementIn()
    {
        lock (_announceGate)
        {
            if (!_announcements.TryPeek(out _, out long due))
            {
                return null;
            }

            long now = _timeProvider.GetTimestamp();
            return due <= now ? TimeSpan.Zero : _timeProvider.GetElapsedTime(now, due);
        }
    }

    /// <summary>
    /// Announces records on a lazy link; the payloads the peer asks for follow at once, and the link becomes eager (a
    /// graft). A failed announcement is given up: announcements on other links, or anti-entropy, cover it.
    /// </summary>
    private async Task AnnounceAsync(PeerEntry target, AssertionRecord[] records, bool eager, CancellationToken cancellationToken)
    {
        var hashes = new ReadOnlyMemory<byte>[records.Length];
        for (int i = 0; i < hashes.Length; i++)
        {
            hashes[i] = records[i].Hash.ToArray();
        }

        var request = new BroadcastRequest(_tree.SelfBytes, Array.Empty<GossipMessage>(), hashes, eager);
        BroadcastResponse response;
        try
        {
            response = await target.Calls.BroadcastAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // An announcement is given up on any failure; a peer outside the protocol loses the extension.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (ex is SyncPeerException { Code: SyncStatusCode.Unimplemented or SyncStatusCode.InvalidResponse })
            {
                target.Calls.Capabilities.Broadcast = false;
            }

            SyncDiagnostics.GossipSendFailures.Add(1);
            SyncLog.GossipSendFailed(_logger, records[0].Hash, target.Peer.Name, 1, ex);
            return;
        }

        SyncDiagnostics.BroadcastAnnounced.Add(records.Length, SyncDiagnostics.Tag("direction", "sent"));
        BroadcastTree.Learn(target, response.NodeId.Span);
        if (response.Want.Count == 0)
        {
            return;
        }

        var wanted = new HashSet<AssertionHash>();
        foreach (ReadOnlyMemory<byte> hash in response.Want)
        {
            wanted.Add(new AssertionHash(hash.Span));
        }

        SyncDiagnostics.BroadcastWanted.Add(wanted.Count, SyncDiagnostics.Tag("direction", "received"));
        if (response.Graft && !target.Calls.Capabilities.Eager)
        {
            target.Calls.Capabilities.Eager = true;
            SyncDiagnostics.BroadcastGrafts.Add(1);
        }

        await BroadcastAsync(target, Array.FindAll(records, r => wanted.Contains(r.Hash)), cancellationToken).ConfigureAwait(false);
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
        _tree.View();

        // A record pulled through a lazy link came by a repair: the nodes below this one on the tree were probably
        // told of it at about the same time and pulled it too, so on broadcast links it is announced, not pushed.
        QueuedRecord[] pushed = batch, pulled = Array.Empty<QueuedRecord>();
        if (Array.Exists(batch, r => r.Pulled))
        {
            pulled = Array.FindAll(batch, r => r.Pulled);
            pushed = Array.FindAll(batch, r => !r.Pulled);
        }

        var sends = new List<Task>();
        var plain = new List<PeerEntry>();
        List<PeerEntry>? pushedTo = null;
        bool broadcast = false;
        foreach (PeerEntry peer in _peers.Snapshot)
        {
            if (!peer.Calls.Capabilities.Broadcast)
            {
                plain.Add(peer);
                continue;
            }

            broadcast = true;
            if (peer.Calls.Capabilities.Eager)
            {
                (pushedTo ??= new List<PeerEntry>()).Add(peer);
                AssertionRecord[] records = Except(pushed, peer);
                if (records.Length > BroadcastLimits.MaxEagerPush)
                {
                    sends.Add(AnnounceAsync(peer, records, eager: true, cancellationToken));
                }
                else if (records.Length != 0)
                {
                    sends.Add(BroadcastAsync(peer, records, cancellationToken));
                }
            }
        }

        if (broadcast)
        {
            HoldForAnnouncement(pushed, pushedTo?.ToArray() ?? Array.Empty<PeerEntry>());
            HoldForAnnouncement(pulled, Array.Empty<PeerEntry>());
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
    /// Pushes payloads on a broadcast link, in messages of at most <see cref="SyncProtocol.MaxGossipBatch"/> records and
    /// <see cref="BulkPush.MaxBatchBytes"/>. A peer that answers <c>UNIMPLEMENTED</c> (or outside the protocol) loses
    /// the extension for good and gets the payloads the v1 way.
    /// </summary>
    private async Task BroadcastAsync(PeerEntry target, AssertionRecord[] records, CancellationToken cancellationToken)
    {
        try
        {
            int first = 0;
            long bytes = 0;
            for (int i = 0; i <= records.Length; i++)
            {
                bool full = i == records.Length || i - first == SyncProtocol.MaxGossipBatch || (i > first && bytes + records[i].Data.Length > BulkPush.MaxBatchBytes);
                if (full && i > first)
                {
                    await SendBroadcastAsync(target, records[first..i], cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// One message of payloads, retried like any push; learns the peer's id and follows a prune in its answer. A link
    /// whose push is given up becomes lazy: announcements, which cost little, keep going to it.
    /// </summary>
    private async Task SendBroadcastAsync(PeerEntry target, AssertionRecord[] records, CancellationToken cancellationToken)
    {
        var messages = new GossipMessage[records.Length];
        for (int i = 0; i < messages.Length; i++)
        {
            AssertionRecord record = records[i];
            messages[i] = new GossipMessage(
                record.Hash.ToArray(), record.Data, record.Timestamp.Time, record.Timestamp.Counter, record.Timestamp.IsNone ? ReadOnlyMemory<byte>.Empty : record.Timestamp.NodeId.ToArray());
        }

        var request = new BroadcastRequest(_tree.SelfBytes, messages, Array.Empty<ReadOnlyMemory<byte>>());
        bool sent = await RetryAsync(
            target,
            records[0].Hash,
            records.Length,
            async token =>
            {
                BroadcastResponse response = await target.Calls.BroadcastAsync(request, token).ConfigureAwait(false);
                BroadcastTree.Learn(target, response.NodeId.Span);
                if (response.Prune && target.Calls.Capabilities.Eager)
                {
                    target.Calls.Capabilities.Eager = false;
                    SyncDiagnostics.BroadcastPrunes.Add(1, SyncDiagnostics.Tag("reason", "duplicate"));
                }

                for (int i = 0; i < records.Length; i++)
                {
                    Count(target, records[i], response.Results[i]);
                }
            },
            cancellationToken).ConfigureAwait(false);
        if (!sent && target.Calls.Capabilities.Eager)
        {
            target.Calls.Capabilities.Eager = false;
            SyncDiagnostics.BroadcastPrunes.Add(1, SyncDiagnostics.Tag("reason", "unreachable"));
        }
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
    /// One send to one peer, retrying transport failures with backoff, then giving up (anti-entropy catches up); whether
    /// it was sent. For an extension's call, <c>UNIMPLEMENTED</c> and an answer outside the protocol reach the caller,
    /// which falls back.
    /// </summary>
    private async Task<bool> RetryAsync(
        PeerEntry target, AssertionHash first, int records, Func<CancellationToken, Task> send, CancellationToken cancellationToken, bool extension = true)
    {
        using Activity? activity = SyncDiagnostics.ActivitySource.StartActivity("StemeDb.Sync.Gossip", ActivityKind.Client);
        activity?.SetTag("stemedb.sync.peer", target.Peer.Name);
        for (int attempt = 1; ; attempt++)
        {
            if (target.IsRemoved)
            {
                return false;
            }

            try
            {
                await send(cancellationToken).ConfigureAwait(false);
                return true;
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
                return false;
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
                return false;
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
