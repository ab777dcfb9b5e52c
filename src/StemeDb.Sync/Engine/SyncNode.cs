using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync;

/// <summary>
/// A replicating node: ingests assertions locally, serves peers through <see cref="Handler"/>, pushes new
/// assertions to peers (gossip) and periodically reconciles with each peer (anti-entropy), over any transport.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="IngestAsync"/> completes only after the store has accepted the assertion. Gossip runs in the
/// background with bounded concurrency and a bounded queue: when the queue is full, the assertion is still
/// stored and acknowledged but not gossiped, and anti-entropy delivers it later. Assertions learned from a
/// peer's gossip are forwarded to <see cref="SyncNodeOptions.GossipFanout"/> other peers only when they were
/// new here, so gossip dies out instead of storming.
/// </para>
/// <para>
/// Everything received from a peer is verified before it is stored: lengths, the HLC drift bound, size,
/// BLAKE3(data) == hash and the content validator. A rejection stores nothing and leaves the clock unchanged.
/// </para>
/// <para>Background loops never throw into the host: failures are logged and retried at the next opportunity.</para>
/// </remarks>
public sealed class SyncNode : IAsyncDisposable
{

    /// <summary>The most queued assertions one gossip worker sends together.</summary>
    internal const int LiveGossipBatch = GossipPump.LiveBatch;

    /// <summary>Hashes read from the store per index update at start-up.</summary>
    private const int StartupChunk = 65_536;

    private readonly SyncNodeOptions _options;
    private readonly IAssertionStore _store;
    private readonly MerkleIndex _index = new();
    private readonly HybridLogicalClock _clock;
    private readonly ILogger _logger;
    private readonly NodeLifecycle _lifecycle = new();
    private readonly NodeRandomness _retry;
    private readonly PeerTable _peers;
    private readonly GossipPump _gossip;
    private readonly BroadcastTree _tree;
    private readonly LocalIngest _ingest;
    private readonly IncomingAssertions _incoming;
    private readonly AntiEntropy _antiEntropy;
    private readonly List<Task> _gossipWorkers = new();
    private readonly TimeProvider _time;
    private DateTimeOffset _startedAt;

    /// <summary>Creates a node. Call <see cref="StartAsync"/> before using it.</summary>
    /// <param name="options">Settings; validated and copied.</param>
    /// <param name="store">Where assertions are kept.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Time for the HLC, deadlines, backoff and intervals; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or <paramref name="store"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public SyncNode(SyncNodeOptions options, IAssertionStore store, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        _options = options.ValidatedCopy();
        _store = store;
        TimeProvider time = timeProvider ?? TimeProvider.System;
        _time = time;
        _logger = (ILogger?)loggerFactory?.CreateLogger<SyncNode>() ?? NullLogger.Instance;
        _clock = new HybridLogicalClock(_options.NodeId, time, _options.MaxClockDrift);
        var verifier = new AssertionVerifier(_options.ContentValidator!, _clock, _options.MaxAssertionBytes);

        // A synchronous-put store (the in-memory one) copies a record's bytes inside PutAsync and keeps no reference to them: records may
        // lend it a caller's or a transport's buffer. Any other store may keep the record it is given.
        bool storeCopies = store is ISynchronousPutStore;
        _retry = new NodeRandomness(_options);
        _peers = new PeerTable(peer => new PeerCalls(peer, _options.PeerCallTimeout, time, _options.MaxStreamPullDuration));
        _tree = new BroadcastTree(_options.NodeId, _peers, _index, _options.GossipFanout, _retry, time);
        _gossip = new GossipPump(_options, _peers, _tree, _retry, _lifecycle, storeCopies, _logger, time);
        var puts = new StorePuts(store, _index, _clock, _gossip);
        _incoming = new IncomingAssertions(puts, _index, _clock, verifier, _gossip, _lifecycle, _logger, time);
        _ingest = new LocalIngest(puts, _index, verifier, _lifecycle);
        _antiEntropy = new AntiEntropy(_options, _index, store, _incoming, _retry, _lifecycle, _logger, time, OnPassEnded);
        ImportBatchRecords = WritesBatchesWhole(store) ? Streams.Internal.RecordBatch.MaxRecordsBulk : Streams.Internal.RecordBatch.MaxRecords;
        Handler = new SyncRequestHandler(
            _options.NodeId, _lifecycle, _index, store, _incoming, _options.ReconcileSymbols, _options.MaxAnswerBytes, _tree, GetStatus);
    }

    /// <summary>The id of this node.</summary>
    public NodeId NodeId => _options.NodeId;

    /// <summary>The Merkle root of the assertions this node holds.</summary>
    public AssertionHash Root => _index.Root;

    /// <summary>The number of assertions this node holds (after <see cref="StartAsync"/>).</summary>
    public long Count => _index.Count;

    /// <summary>The server side of every RPC, for transport adapters to serve.</summary>
    public ISyncRequestHandler Handler { get; }

    /// <summary>The peers currently known.</summary>
    public IReadOnlyList<ISyncPeer> Peers => Array.ConvertAll(_peers.Snapshot, entry => entry.Peer);

    /// <summary>
    /// Raised after every anti-entropy pass with a peer ends, well or not, with the peer's status as the pass left it. It
    /// is raised on the pass's thread: a handler should return quickly (hand the status to a channel, say). A handler that
    /// throws is logged and does not disturb the node.
    /// </summary>
    public event EventHandler<SyncPeerStatus>? PeerStatusChanged;

    /// <summary>
    /// The node's sync status now: its count, root and gossip backlog, and for each peer how the last pass with it went and
    /// what each side lacks (<see cref="SyncPeerStatus"/>). Cheap: it reads what the passes recorded and calls no peer.
    /// </summary>
    /// <returns>A snapshot; later changes do not alter it.</returns>
    public SyncNodeStatus GetStatus()
    {
        long count = _index.Count;
        PeerEntry[] entries = _peers.Snapshot;
        var peers = new SyncPeerStatus[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            peers[i] = StatusOf(entries[i].Calls, count);
        }

        return new SyncNodeStatus
        {
            NodeId = NodeId,
            At = _time.GetUtcNow(),
            Count = count,
            Root = _index.Root,
            PendingGossip = _gossip.Pending,
            Peers = peers,
        };
    }

    /// <summary>When the node last started (for the gauge of time since a peer's last successful pass).</summary>
    internal DateTimeOffset StartedAt => _startedAt;

    internal MerkleIndex Index => _index;

    internal HybridLogicalClock Clock => _clock;

    internal int PendingGossipCount => _gossip.Pending;

    /// <summary>How many records wait to be announced on lazy broadcast links (for tests and simulation).</summary>
    internal int HeldAnnouncementCount => _gossip.HeldAnnouncements;

    /// <summary>The largest assertion the node accepts (<see cref="SyncNodeOptions.MaxAssertionBytes"/>).</summary>
    internal int MaxAssertionBytes => _options.MaxAssertionBytes;

    /// <summary>
    /// Stores records read from an assertion stream: each verified like a received record, in order, up to the first
    /// that fails; nothing from that one on is stored.
    /// </summary>
    /// <remarks>The records' bytes need to stay valid only until the returned task completes.</remarks>
    internal ValueTask<ReceivedBatch> ReceiveManyAsync(ReadOnlyMemory<UnverifiedRecord> records, CancellationToken cancellationToken) =>
        _incoming.ReceiveManyAsync(records, cancellationToken);

    /// <summary>
    /// How many records one import batch holds: large batches for a store that writes a <see cref="IAssertionStore.PutManyAsync"/>
    /// call as one unit (it overrides the default), so that it syncs once per batch; the usual batch for any other store.
    /// </summary>
    internal int ImportBatchRecords { get; }

    /// <summary>Rebuilds the index from the store, then starts gossip workers and one anti-entropy loop per peer.</summary>
    /// <param name="cancellationToken">Cancels the start-up; the node can then be started again.</param>
    /// <returns>A task that completes when the node serves requests.</returns>
    /// <exception cref="InvalidOperationException">The node was already started or stopped.</exception>
    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle.Gate)
        {
            _lifecycle.BeginStart();
        }

        try
        {
            // In chunks, each under one lock of the index, which merges them in groups of its own.
            var chunk = new List<AssertionHash>(StartupChunk);
            await foreach (AssertionHash hash in _store.EnumerateHashesAsync(cancellationToken).ConfigureAwait(false))
            {
                chunk.Add(hash);
                if (chunk.Count == StartupChunk)
                {
                    _index.AddDeferred(CollectionsMarshal.AsSpan(chunk));
                    chunk.Clear();
                }
            }

            _index.AddDeferred(CollectionsMarshal.AsSpan(chunk));
        }
        catch
        {
            lock (_lifecycle.Gate)
            {
                _lifecycle.AbortStart();
            }

            throw;
        }

        lock (_lifecycle.Gate)
        {
            _lifecycle.CompleteStart();
            _startedAt = _time.GetUtcNow();
            NodeGauges.Add(this);
            if (_options.RunBackgroundLoops)
            {
                _gossip.StartWorkers(_gossipWorkers, _lifecycle.Stopping);
                foreach (PeerEntry entry in _peers.Snapshot)
                {
                    _antiEntropy.StartLoop(entry);
                }
            }
        }

        SyncLog.NodeStarted(_logger, NodeId, _index.Count);
    }

    /// <summary>Stops the background loops and waits for them. Queued gossip is discarded (anti-entropy covers it).</summary>
    /// <param name="cancellationToken">Stops waiting for the loops (they still end).</param>
    /// <returns>A task that completes when the loops have ended.</returns>
    public async ValueTask StopAsync(CancellationToken cancellationToken = default)
    {
        var running = new List<Task>();
        lock (_lifecycle.Gate)
        {
            if (!_lifecycle.BeginStop())
            {
                return;
            }

            running.AddRange(_gossipWorkers);
            foreach (PeerEntry entry in _peers.Snapshot)
            {
                if (entry.Loop is { } loop)
                {
                    running.Add(loop);
                }
            }
        }

        NodeGauges.Remove(this);

        // Synchronous: cancellation callbacks run here, so stopping is deterministic under a test scheduler.
        _lifecycle.SignalStopping();
        _gossip.Complete();
        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        SyncLog.NodeStopped(_logger, NodeId);
    }

    /// <summary>Stops the node (see <see cref="StopAsync"/>).</summary>
    /// <returns>A task that completes when the node has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _lifecycle.Dispose();
    }

    /// <summary>
    /// Validates, hashes, stamps, stores and indexes one assertion; returns once the store has accepted it.
    /// New assertions are then gossiped in the background.
    /// </summary>
    /// <param name="data">The serialized assertion. It is read during the call and must not change until the returned
    /// task completes; the node keeps its own copy where it needs one, so the caller may reuse the buffer afterwards.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>The hash, the timestamp and whether the assertion was new.</returns>
    /// <exception cref="AssertionRejectedException">The assertion is too large or its content is invalid (<see cref="AssertionRejectedException.Reason"/>); nothing was stored.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public ValueTask<IngestResult> IngestAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _ingest.IngestAsync(data, cancellationToken);

    /// <summary>
    /// Ingests many assertions in one call, for bulk loads: validates every assertion first, then hashes, stamps and
    /// stores each, and indexes them together; returns once the store has accepted all of them.
    /// </summary>
    /// <param name="assertions">The serialized assertions. They are read during the call and must not change until the
    /// returned task completes; the node keeps its own copies where it needs them.</param>
    /// <param name="cancellationToken">Cancels the store calls.</param>
    /// <returns>One result per assertion, in the order given (an assertion given twice is added once).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="assertions"/> is <see langword="null"/>.</exception>
    /// <exception cref="AssertionRejectedException">An assertion is too large or its content is invalid (its position is
    /// <see cref="AssertionRejectedException.Index"/>); nothing of the batch was stored.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    /// <remarks>
    /// Costs less per assertion than <see cref="IngestAsync"/>: the hashing runs apart from the store and index updates,
    /// the index takes the batch in hash order, and the store gets the batch in one <see cref="IAssertionStore.PutManyAsync"/>
    /// call, so that a store that commits in groups (the RocksDB store writes one write batch, the SQLite store one
    /// transaction) commits the batch together instead of once per assertion. If the store fails part way (or the call
    /// is cancelled), the assertions it holds stay stored and are indexed like any other; the failure is thrown.
    /// </remarks>
    public ValueTask<IReadOnlyList<IngestResult>> IngestManyAsync(IReadOnlyList<ReadOnlyMemory<byte>> assertions, CancellationToken cancellationToken = default) =>
        _ingest.IngestManyAsync(assertions, cancellationToken);

    /// <summary>Adds a peer: it receives gossip and, while the node runs, gets its own anti-entropy loop.</summary>
    /// <param name="peer">The peer.</param>
    /// <returns><see langword="false"/> if the same peer object was already added.</returns>
    /// <exception cref="InvalidOperationException">The node was stopped.</exception>
    public bool AddPeer(ISyncPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lifecycle.Gate)
        {
            if (_lifecycle.IsStopped)
            {
                throw new InvalidOperationException("The sync node was stopped.");
            }

            if (_peers.Add(peer) is not { } entry)
            {
                return false;
            }

            if (_lifecycle.IsRunning && _options.RunBackgroundLoops)
            {
                _antiEntropy.StartLoop(entry);
            }
        }

        SyncLog.PeerAdded(_logger, peer.Name);
        return true;
    }

    /// <summary>Removes a peer: its anti-entropy loop ends and no further gossip is sent to it.</summary>
    /// <param name="peer">The peer, as added.</param>
    /// <returns><see langword="false"/> if the peer was not known.</returns>
    public bool RemovePeer(ISyncPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        PeerEntry? removed;
        lock (_lifecycle.Gate)
        {
            removed = _peers.Remove(peer);
        }

        if (removed is null)
        {
            return false;
        }

        removed.Remove();
        SyncLog.PeerRemoved(_logger, peer.Name);
        return true;
    }

    /// <summary>
    /// Runs one anti-entropy pass with a peer: exchange roots; if they differ, compare leaves, fetch what is
    /// missing here in batches of at most <see cref="SyncNodeOptions.FetchBatchSize"/>, verify and store it,
    /// and push what the peer lacks.
    /// </summary>
    /// <param name="peer">The peer (it need not be added).</param>
    /// <param name="cancellationToken">Cancels the pass; what was stored stays stored.</param>
    /// <returns>What the pass exchanged.</returns>
    /// <exception cref="SyncPeerException">A call to the peer failed; assertions stored before the failure stay stored.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public async ValueTask<SyncPassResult> SyncWithPeerAsync(ISyncPeer peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        _lifecycle.EnsureRunning();
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifecycle.Stopping);
        return await _antiEntropy.RunPassAsync(_peers.CallsFor(peer), linked.Token).ConfigureAwait(false);
    }

    /// <summary>Whether the store's type implements <see cref="IAssertionStore.PutManyAsync"/> itself (not the interface's default).</summary>
    private static bool WritesBatchesWhole(IAssertionStore store)
    {
        System.Reflection.InterfaceMapping map = store.GetType().GetInterfaceMap(typeof(IAssertionStore));
        int index = Array.FindIndex(map.InterfaceMethods, m => m.Name == nameof(IAssertionStore.PutManyAsync));
        return index >= 0 && map.TargetMethods[index].DeclaringType != typeof(IAssertionStore);
    }

    private static SyncPeerStatus StatusOf(PeerCalls calls, long localCount) =>
        calls.Capabilities.Passes.Snapshot(calls.Name, calls.Capabilities.Extensions, localCount);

    /// <summary>Raises <see cref="PeerStatusChanged"/> after a pass; a handler's failure is logged, never thrown into the pass.</summary>
    private void OnPassEnded(PeerCalls calls)
    {
        if (PeerStatusChanged is not { } handlers)
        {
            return;
        }

        try
        {
            handlers(this, StatusOf(calls, _index.Count));
        }
#pragma warning disable CA1031 // A host's handler must not break the pass or the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SyncLog.StatusHandlerFailed(_logger, ex);
        }
    }

    /// <summary>Gossips one queued assertion (for deterministic simulation, where no worker runs).</summary>
    internal ValueTask<bool> PumpGossipOnceAsync() => _gossip.PumpOnceAsync(_lifecycle.Stopping);

    /// <summary>Sends the broadcast announcements due now (for deterministic simulation, where no background loop runs).</summary>
    internal ValueTask<int> AnnounceDueAsync() => _gossip.AnnounceDueAsync(_lifecycle.Stopping);

    /// <summary>The wait before retry <paramref name="attempt"/> of a gossip push.</summary>
    internal TimeSpan RetryDelay(int attempt) => _retry.RetryDelay(attempt);
}
