using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StemeDb.Sync.Engine.Internal;

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
public sealed partial class SyncNode : IAsyncDisposable
{
    private const int StateCreated = 0;
    private const int StateStarting = 1;
    private const int StateRunning = 2;
    private const int StateStopped = 3;

    /// <summary>The most puts <see cref="IngestManyAsync"/> keeps in flight.</summary>
    private const int MaxPutsInFlight = 1024;

    /// <summary>The longest wait before the first anti-entropy pass with a peer.</summary>
    internal static readonly TimeSpan FirstPassMaxDelay = TimeSpan.FromSeconds(2);

    /// <summary>Hashes read from the store per index update at start-up.</summary>
    private const int StartupChunk = 65_536;

    // How many puts ahead IngestManyAsync hints the store (a put takes a few hundred nanoseconds, about one memory access).
    private const int PrefetchDistance = 4;

    private readonly SyncNodeOptions _options;
    private readonly IAssertionStore _store;

    // A store of this library, or null: the in-memory store copies a record's bytes inside PutAsync and keeps no
    // reference to them, and takes prefetch hints. Any other store may keep the record it is given, so it gets bytes
    // the node owns.
    private readonly ILibraryStore? _libraryStore;
    private readonly MerkleIndex _index = new();
    private readonly HybridLogicalClock _clock;
    private readonly AssertionVerifier _verifier;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Random _random;
    private readonly object _randomGate = new();
    private readonly Func<ulong>? _seededSalt;
    private readonly object _gate = new();
    private readonly Channel<AssertionRecord> _gossipQueue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _gossipWorkers = new();
    private readonly ConditionalWeakTable<ISyncPeer, PeerCapabilities> _capabilities = new();
    private PeerEntry[] _peers = Array.Empty<PeerEntry>();
    private volatile int _state;

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
        _libraryStore = store as ILibraryStore;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<SyncNode>() ?? NullLogger.Instance;
        _clock = new HybridLogicalClock(_options.NodeId, _timeProvider, _options.MaxClockDrift);
        _verifier = new AssertionVerifier(_options.ContentValidator!, _clock, _options.MaxAssertionBytes);
        _random = _options.RandomSeed is int seed ? new Random(seed) : new Random();

        // A seeded node (deterministic simulation) also draws its reconciliation salts from its seed, so that a run
        // replays exactly; otherwise they are cryptographically random.
        _seededSalt = _options.RandomSeed is null ? null : NextSalt;
        _gossipQueue = Channel.CreateBounded<AssertionRecord>(new BoundedChannelOptions(_options.GossipQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; ingest never waits.
            SingleReader = false,
            SingleWriter = false,
        });
        Handler = new SyncRequestHandler(this);
    }

    /// <summary>The id of this node.</summary>
    public NodeId NodeId => _options.NodeId;

    /// <summary>The Merkle root of the assertions this node holds.</summary>
    public AssertionHash Root => _index.Root;

    /// <summary>The number of assertions this node holds (after <see cref="StartAsync"/>).</summary>
    public long Count => _index.Count;

    /// <summary>The server side of every v1 RPC, for transport adapters to serve.</summary>
    public ISyncRequestHandler Handler { get; }

    /// <summary>The peers currently known.</summary>
    public IReadOnlyList<ISyncPeer> Peers
    {
        get
        {
            PeerEntry[] peers = Volatile.Read(ref _peers);
            var result = new ISyncPeer[peers.Length];
            for (int i = 0; i < peers.Length; i++)
            {
                result[i] = peers[i].Peer;
            }

            return result;
        }
    }

    internal MerkleIndex Index => _index;

    internal HybridLogicalClock Clock => _clock;

    internal RootSummary Summary => new(_index.Root, (ulong)_index.Count);

    internal int PendingGossipCount => _gossipQueue.Reader.Count;

    /// <summary>Rebuilds the index from the store, then starts gossip workers and one anti-entropy loop per peer.</summary>
    /// <param name="cancellationToken">Cancels the start-up; the node can then be started again.</param>
    /// <returns>A task that completes when the node serves requests.</returns>
    /// <exception cref="InvalidOperationException">The node was already started or stopped.</exception>
    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_state != StateCreated)
            {
                throw new InvalidOperationException(_state == StateStopped
                    ? "The sync node was stopped; create a new node to start again."
                    : "The sync node was already started.");
            }

            _state = StateStarting;
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
            lock (_gate)
            {
                _state = StateCreated;
            }

            throw;
        }

        lock (_gate)
        {
            _state = StateRunning;
            if (_options.RunBackgroundLoops)
            {
                CancellationToken stopping = _stopping.Token;
                for (int i = 0; i < _options.GossipConcurrency; i++)
                {
                    _gossipWorkers.Add(Task.Run(() => GossipWorkerAsync(stopping), CancellationToken.None));
                }

                foreach (PeerEntry entry in _peers)
                {
                    StartAntiEntropyLoop(entry);
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
        lock (_gate)
        {
            if (_state == StateStopped)
            {
                return;
            }

            _state = StateStopped;
            running.AddRange(_gossipWorkers);
            foreach (PeerEntry entry in _peers)
            {
                if (entry.Loop is { } loop)
                {
                    running.Add(loop);
                }
            }
        }

        // Synchronous: cancellation callbacks run here, so stopping is deterministic under a test scheduler.
        _stopping.Cancel();
        _gossipQueue.Writer.TryComplete();
        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        SyncLog.NodeStopped(_logger, NodeId);
    }

    /// <summary>Stops the node (see <see cref="StopAsync"/>).</summary>
    /// <returns>A task that completes when the node has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// Validates, hashes, stamps, stores and indexes one assertion; returns once the store has accepted it.
    /// New assertions are then gossiped in the background.
    /// </summary>
    /// <param name="data">The serialized assertion. It is read during the call and must not change until the returned
    /// task completes; the node keeps its own copy where it needs one, so the caller may reuse the buffer afterwards.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>The hash, the timestamp and whether the assertion was new.</returns>
    /// <exception cref="ArgumentException">The assertion is too large or its content is invalid; nothing was stored.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public ValueTask<IngestResult> IngestAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        AssertionRecord record;
        ValueTask<bool> put;
        try
        {
            EnsureRunning();
            ReadOnlySpan<byte> span = data.Span;
            AssertionHash hash = default;
            if (_verifier.IsWithinSize(span.Length))
            {
                // Hash first: the store's first read for the hash then loads while the content is validated and stamped.
                hash = AssertionHash.Compute(span);
                _libraryStore?.Prefetch(hash);
            }

            string? error = _verifier.CheckContent(span);
            if (error is not null)
            {
                throw new ArgumentException($"The assertion was rejected: {error}", nameof(data));
            }

            if (_libraryStore is { } libraryStore)
            {
                ValueTask<IngestResult> result = PutLocal(libraryStore, hash, data, cancellationToken);
                _index.AddDeferred(hash);
                return result;
            }

            record = NewLocalRecord(hash, data);
            put = _store.PutAsync(record, cancellationToken);
        }
#pragma warning disable CA1031 // Not swallowed: faulted into the returned task, as an async method would.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<IngestResult>(ex);
        }

        if (put.IsCompletedSuccessfully && put.Result)
        {
            // No state machine either for a host's store that took the assertion synchronously.
            _index.AddDeferred(record.Hash);
            return new ValueTask<IngestResult>(CompleteAdded(record));
        }

        return CompletePutAsync(record, put, cancellationToken);
    }

    /// <summary>
    /// Stamps and puts a validated, hashed local assertion into a store of this library, which copies the caller's bytes
    /// synchronously: no state machine, and no record unless gossip takes one. The caller indexes the hash.
    /// </summary>
    private ValueTask<IngestResult> PutLocal(ILibraryStore store, AssertionHash hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        HlcTimestamp timestamp = _clock.Now();
        return store.Put(hash, data.Span, timestamp)
            ? new ValueTask<IngestResult>(CompleteAdded(hash, timestamp, GossipEnabled ? new AssertionRecord(hash, data, timestamp) : null))
            : CompleteLocalAsync(new AssertionRecord(hash, data, timestamp), false, cancellationToken);
    }

    /// <summary>The rest of <see cref="IngestAsync"/> once the put is under way.</summary>
    private async ValueTask<IngestResult> CompletePutAsync(AssertionRecord record, ValueTask<bool> put, CancellationToken cancellationToken)
    {
        bool added = await put.ConfigureAwait(false);
        _index.AddDeferred(record.Hash);
        return await CompleteLocalAsync(record, added, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ingests many assertions in one call, for bulk loads: validates every assertion first, then hashes, stamps and
    /// stores each, and indexes them together; returns once the store has accepted all of them.
    /// </summary>
    /// <param name="assertions">The serialized assertions. They are read during the call and must not change until the
    /// returned task completes; the node keeps its own copies where it needs them.</param>
    /// <param name="cancellationToken">Cancels the store calls.</param>
    /// <returns>One result per assertion, in the order given (an assertion given twice is added once).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="assertions"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An assertion is too large or its content is invalid (the message gives its
    /// position); nothing of the batch was stored.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    /// <remarks>
    /// Costs less per assertion than <see cref="IngestAsync"/>: the hashing runs apart from the store and index updates,
    /// the index takes the batch in hash order, and up to 1,024 puts are in flight at once, so that a store that commits
    /// in groups (such as the SQLite store) commits the batch together instead of once per assertion. If the store fails
    /// part way (or the call is cancelled), the assertions whose puts completed stay stored and are indexed like any
    /// other; the first failure is thrown.
    /// </remarks>
    public async ValueTask<IReadOnlyList<IngestResult>> IngestManyAsync(IReadOnlyList<ReadOnlyMemory<byte>> assertions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(assertions);
        EnsureRunning();
        var hashes = new AssertionHash[assertions.Count];
        for (int i = 0; i < hashes.Length; i++)
        {
            ReadOnlySpan<byte> data = assertions[i].Span;
            string? error = _verifier.CheckContent(data);
            if (error is not null)
            {
                throw new ArgumentException($"Assertion {i} of {hashes.Length} was rejected, so none was stored: {error}", nameof(assertions));
            }

            hashes[i] = AssertionHash.Compute(data);
        }

        var results = new IngestResult[hashes.Length];
        var stored = new List<AssertionHash>(hashes.Length);
        var inFlight = new Queue<(int Index, AssertionRecord Record, Task<bool> Put)>();
        try
        {
            for (int i = 0; i < hashes.Length; i++)
            {
                if (_libraryStore is { } libraryStore)
                {
                    if (i + PrefetchDistance < hashes.Length)
                    {
                        libraryStore.Prefetch(hashes[i + PrefetchDistance]); // loads while the puts before it run
                    }

                    ValueTask<IngestResult> local = PutLocal(libraryStore, hashes[i], assertions[i], cancellationToken);
                    stored.Add(hashes[i]);
                    results[i] = local.IsCompletedSuccessfully ? local.Result : await local.ConfigureAwait(false);
                    continue;
                }

                AssertionRecord record = NewLocalRecord(hashes[i], assertions[i]);
                ValueTask<bool> put = _store.PutAsync(record, cancellationToken);
                if (put.IsCompletedSuccessfully)
                {
                    stored.Add(record.Hash);
                    results[i] = put.Result
                        ? CompleteAdded(record)
                        : await CompleteLocalAsync(record, false, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                inFlight.Enqueue((i, record, put.AsTask()));
                if (inFlight.Count == MaxPutsInFlight)
                {
                    (int index, AssertionRecord oldest, Task<bool> oldestPut) = inFlight.Dequeue();
                    bool added = await oldestPut.ConfigureAwait(false);
                    stored.Add(oldest.Hash);
                    results[index] = await CompleteLocalAsync(oldest, added, cancellationToken).ConfigureAwait(false);
                }
            }

            while (inFlight.TryDequeue(out (int Index, AssertionRecord Record, Task<bool> Put) entry))
            {
                bool added = await entry.Put.ConfigureAwait(false);
                stored.Add(entry.Record.Hash);
                results[entry.Index] = await CompleteLocalAsync(entry.Record, added, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // After a failure: let the puts still in flight finish, so that what they stored is indexed too.
            while (inFlight.TryDequeue(out (int Index, AssertionRecord Record, Task<bool> Put) entry))
            {
                if (await WaitForPutAsync(entry.Put).ConfigureAwait(false))
                {
                    stored.Add(entry.Record.Hash);
                }
            }

            _index.AddDeferred(CollectionsMarshal.AsSpan(stored));
        }

        return results;
    }

    /// <summary>Waits for a put without throwing; returns whether it completed (added or already present).</summary>
    private static async Task<bool> WaitForPutAsync(Task<bool> put)
    {
        try
        {
            await put.ConfigureAwait(false);
            return true;
        }
#pragma warning disable CA1031 // The batch's first failure is already on its way to the caller.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    /// <summary>A validated, hashed local assertion stamped now, with bytes a host's store may keep.</summary>
    private AssertionRecord NewLocalRecord(AssertionHash hash, ReadOnlyMemory<byte> data) =>
        new(hash, data.ToArray(), _clock.Now());

    /// <summary>The result of a local put: the stored timestamp when it was already present, otherwise counted and queued for gossip.</summary>
    private async ValueTask<IngestResult> CompleteLocalAsync(AssertionRecord record, bool added, CancellationToken cancellationToken)
    {
        if (!added)
        {
            AssertionRecord? existing = await _store.GetAsync(record.Hash, cancellationToken).ConfigureAwait(false);
            return new IngestResult(record.Hash, existing?.Timestamp ?? record.Timestamp, false);
        }

        return CompleteAdded(record);
    }

    /// <summary>The result of a local put that added the record: counted and queued for gossip.</summary>
    private IngestResult CompleteAdded(AssertionRecord record) => CompleteAdded(record.Hash, record.Timestamp, record);

    /// <summary>The result of a local put that added an assertion: counted, and <paramref name="gossip"/> queued when given.</summary>
    private IngestResult CompleteAdded(AssertionHash hash, HlcTimestamp timestamp, AssertionRecord? gossip)
    {
        SyncDiagnostics.Ingested.Add(1);
        if (gossip is not null)
        {
            EnqueueGossip(gossip);
        }

        return new IngestResult(hash, timestamp, true);
    }

    /// <summary>Adds a peer: it receives gossip and, while the node runs, gets its own anti-entropy loop.</summary>
    /// <param name="peer">The peer.</param>
    /// <returns><see langword="false"/> if the same peer object was already added.</returns>
    /// <exception cref="InvalidOperationException">The node was stopped.</exception>
    public bool AddPeer(ISyncPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_gate)
        {
            if (_state == StateStopped)
            {
                throw new InvalidOperationException("The sync node was stopped.");
            }

            foreach (PeerEntry existing in _peers)
            {
                if (ReferenceEquals(existing.Peer, peer))
                {
                    return false;
                }
            }

            var entry = new PeerEntry(peer);
            var peers = new PeerEntry[_peers.Length + 1];
            _peers.CopyTo(peers, 0);
            peers[^1] = entry;
            Volatile.Write(ref _peers, peers);
            if (_state == StateRunning && _options.RunBackgroundLoops)
            {
                StartAntiEntropyLoop(entry);
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
        PeerEntry? removed = null;
        lock (_gate)
        {
            int index = Array.FindIndex(_peers, e => ReferenceEquals(e.Peer, peer));
            if (index < 0)
            {
                return false;
            }

            removed = _peers[index];
            var peers = new PeerEntry[_peers.Length - 1];
            Array.Copy(_peers, 0, peers, 0, index);
            Array.Copy(_peers, index + 1, peers, index, _peers.Length - index - 1);
            Volatile.Write(ref _peers, peers);
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
        EnsureRunning();
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        return await SyncWithPeerCoreAsync(peer, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Gossips one queued assertion (for deterministic simulation, where no worker runs).</summary>
    internal async ValueTask<bool> PumpGossipOnceAsync()
    {
        if (!_gossipQueue.Reader.TryRead(out AssertionRecord? record))
        {
            return false;
        }

        await GossipToPeersAsync(record, _stopping.Token).ConfigureAwait(false);
        return true;
    }

    internal void EnsureServing()
    {
        if (_state != StateRunning)
        {
            throw new SyncRequestException(SyncStatusCode.Unavailable, "The sync node is not running.");
        }
    }

    internal void RecordGossipRejection(string reason)
    {
        SyncDiagnostics.GossipRejected.Add(1);
        SyncLog.GossipRejected(_logger, reason);
    }

    internal async ValueTask<GossipResult> ReceiveGossipAsync(AssertionHash hash, ReadOnlyMemory<byte> data, HlcTimestamp timestamp, CancellationToken cancellationToken)
    {
        string? reason = _verifier.Verify(hash, data.Span, ref timestamp);
        if (reason is not null)
        {
            RecordGossipRejection(reason);
            return GossipResult.Rejected(reason);
        }

        if (_index.Contains(hash))
        {
            _clock.TryObserve(timestamp, out _);
            SyncDiagnostics.GossipReceived.Add(1, SyncDiagnostics.Tag("new", false));
            return GossipResult.Ok;
        }

        var record = new AssertionRecord(hash, _libraryStore is not null ? data : data.ToArray(), timestamp);
        bool added = await StoreVerifiedAsync(record, cancellationToken).ConfigureAwait(false);
        SyncDiagnostics.GossipReceived.Add(1, SyncDiagnostics.Tag("new", added));
        if (added)
        {
            SyncDiagnostics.BytesReceived.Add(record.Data.Length, SyncDiagnostics.Tag("kind", "gossip"));
            EnqueueGossip(record);
        }

        return GossipResult.Ok;
    }

    internal async ValueTask<IReadOnlyList<AssertionRecord>> ServeFetchAsync(AssertionHash[] hashes, CancellationToken cancellationToken)
    {
        IReadOnlyList<AssertionRecord> records = await _store.GetManyAsync(hashes, cancellationToken).ConfigureAwait(false);
        long bytes = 0;
        for (int i = 0; i < records.Count; i++)
        {
            bytes += records[i].Data.Length;
        }

        SyncDiagnostics.BytesSent.Add(bytes, SyncDiagnostics.Tag("kind", "fetch"));
        return records;
    }

    private void EnsureRunning()
    {
        if (_state != StateRunning)
        {
            throw new InvalidOperationException(_state == StateStopped
                ? "The sync node was stopped."
                : "The sync node is not running; call StartAsync first.");
        }
    }

    private async ValueTask<bool> StoreVerifiedAsync(AssertionRecord record, CancellationToken cancellationToken)
    {
        bool added = await _store.PutAsync(record, cancellationToken).ConfigureAwait(false);
        _index.AddDeferred(record.Hash);
        _clock.TryObserve(record.Timestamp, out _);
        return added;
    }

    /// <summary>Whether new assertions are gossiped now: a fanout, at least one peer, and the node running.</summary>
    private bool GossipEnabled => _options.GossipFanout != 0 && Volatile.Read(ref _peers).Length != 0 && _state == StateRunning;

    /// <summary>Queues a newly stored record for gossip, with bytes of its own (the caller's buffer is only lent for the call).</summary>
    private void EnqueueGossip(AssertionRecord record)
    {
        if (!GossipEnabled)
        {
            return;
        }

        if (_libraryStore is not null) // the record may hold the caller's buffer (see _libraryStore)
        {
            record = new AssertionRecord(record.Hash, record.Data.ToArray(), record.Timestamp);
        }

        if (!_gossipQueue.Writer.TryWrite(record))
        {
            SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "queue_full"));
            SyncLog.GossipQueueFull(_logger, record.Hash);
        }
    }

    private CallDeadline Deadline(CancellationToken cancellationToken) =>
        new(_options.PeerCallTimeout, _timeProvider, cancellationToken);

    private async Task GossipWorkerAsync(CancellationToken cancellationToken)
    {
        try
        {
            ChannelReader<AssertionRecord> reader = _gossipQueue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out AssertionRecord? record))
                {
                    try
                    {
                        // Under backlog, queued assertions travel together (GossipBatch); otherwise one by one.
                        if (DrainGossipBatch(reader, record) is { } batch)
                        {
                            await GossipBatchToPeersAsync(batch, cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            await GossipToPeersAsync(record, cancellationToken).ConfigureAwait(false);
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
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task GossipToPeersAsync(AssertionRecord record, CancellationToken cancellationToken)
    {
        PeerEntry[] targets = PickPeers(_options.GossipFanout);
        if (targets.Length == 0)
        {
            return;
        }

        if (targets.Length == 1)
        {
            await SendGossipAsync(targets[0], record, cancellationToken).ConfigureAwait(false);
            return;
        }

        var sends = new Task[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            sends[i] = SendGossipAsync(targets[i], record, cancellationToken);
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private async Task SendGossipAsync(PeerEntry target, AssertionRecord record, CancellationToken cancellationToken)
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
                GossipResult result;
                using (CallDeadline call = Deadline(cancellationToken))
                {
                    result = await target.Peer.GossipAsync(record, call.Token).ConfigureAwait(false);
                }

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

                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (SyncPeerException ex) when (!IsRetryable(ex.Code))
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "not_retryable"));
                SyncLog.GossipSendFailed(_logger, record.Hash, target.Peer.Name, attempt, ex);
                return;
            }
#pragma warning disable CA1031 // Any transport failure is retried, then given up; anti-entropy catches up.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                SyncDiagnostics.GossipSendFailures.Add(1);
                SyncLog.GossipSendFailed(_logger, record.Hash, target.Peer.Name, attempt, ex);
            }

            if (attempt >= _options.GossipMaxAttempts)
            {
                SyncDiagnostics.GossipDropped.Add(1, SyncDiagnostics.Tag("reason", "retries_exhausted"));
                SyncLog.GossipAbandoned(_logger, record.Hash, target.Peer.Name, attempt);
                return;
            }

            await Task.Delay(RetryDelay(attempt), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsRetryable(SyncStatusCode code) => code is
        SyncStatusCode.Unavailable or SyncStatusCode.DeadlineExceeded or SyncStatusCode.ResourceExhausted or SyncStatusCode.Internal;

    /// <summary>Exponential backoff with "equal jitter": half the delay fixed, half random.</summary>
    internal TimeSpan RetryDelay(int attempt)
    {
        double baseMs = _options.GossipRetryBaseDelay.TotalMilliseconds;
        double capMs = _options.GossipRetryMaxDelay.TotalMilliseconds;
        double exponential = Math.Min(capMs, baseMs * Math.Pow(2, Math.Min(attempt - 1, 30)));
        return TimeSpan.FromMilliseconds((exponential / 2) + (NextDouble() * exponential / 2));
    }

    internal TimeSpan NextAntiEntropyDelay()
    {
        double interval = _options.AntiEntropyInterval.TotalMilliseconds;
        double jitter = _options.AntiEntropyJitter.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Max(0, interval + (((NextDouble() * 2) - 1) * jitter)));
    }

    /// <summary>
    /// The wait before the first pass with a peer (after <see cref="StartAsync"/> or <see cref="AddPeer"/>): drawn
    /// uniformly up to <see cref="FirstPassMaxDelay"/> (or the interval, when shorter), so that a new node catches up
    /// within seconds and nodes started together do not call at once.
    /// </summary>
    internal TimeSpan FirstAntiEntropyDelay()
    {
        double max = Math.Min(_options.AntiEntropyInterval.TotalMilliseconds, FirstPassMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(NextDouble() * max);
    }

    private ulong NextSalt()
    {
        lock (_randomGate)
        {
            return (ulong)_random.NextInt64();
        }
    }

    private double NextDouble()
    {
        lock (_randomGate)
        {
            return _random.NextDouble();
        }
    }

    private PeerEntry[] PickPeers(int count)
    {
        PeerEntry[] peers = Volatile.Read(ref _peers);
        if (peers.Length <= count)
        {
            return peers;
        }

        var shuffled = (PeerEntry[])peers.Clone();
        lock (_randomGate)
        {
            for (int i = 0; i < count; i++)
            {
                int j = _random.Next(i, shuffled.Length);
                (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
            }
        }

        return shuffled[..count];
    }

    private void StartAntiEntropyLoop(PeerEntry entry)
    {
        if (_options.AntiEntropyInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        entry.Loop = Task.Run(() => AntiEntropyLoopAsync(entry), CancellationToken.None);
    }

    private async Task AntiEntropyLoopAsync(PeerEntry entry)
    {
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(entry.Removed, _stopping.Token);
        CancellationToken cancellationToken = linked.Token;
        try
        {
            for (bool first = true; ; first = false)
            {
                await Task.Delay(first ? FirstAntiEntropyDelay() : NextAntiEntropyDelay(), _timeProvider, cancellationToken).ConfigureAwait(false);
                try
                {
                    await SyncWithPeerCoreAsync(entry.Peer, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // A background loop must never take the host down.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    SyncLog.AntiEntropyFailed(_logger, entry.Peer.Name, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async ValueTask<SyncPassResult> SyncWithPeerCoreAsync(ISyncPeer peer, CancellationToken cancellationToken)
    {
        using Activity? activity = SyncDiagnostics.ActivitySource.StartActivity("StemeDb.Sync.AntiEntropy", ActivityKind.Client);
        activity?.SetTag("stemedb.sync.peer", peer.Name);
        int roundTrips = 0;
        int fetched = 0;
        int pushed = 0;
        int rejected = 0;
        long bytesIn = 0;
        long bytesOut = 0;
        try
        {
            RootSummary local = Summary;
            RootExchangeResult exchange;
            using (CallDeadline call = Deadline(cancellationToken))
            {
                exchange = await peer.ExchangeRootsAsync(local, call.Token).ConfigureAwait(false);
            }

            roundTrips++;
            if (exchange.RootsMatch || exchange.Remote.Root == local.Root)
            {
                SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "match"));
                return new SyncPassResult(true, 0, 0, 0, roundTrips, 0, 0, true);
            }

            PeerCapabilities capabilities = _capabilities.GetValue(peer, static _ => new PeerCapabilities());
            if (capabilities.Converged is { } converged && converged.Local == local && converged.Remote == exchange.Remote)
            {
                // Nothing changed on either side since a pass found the sets equal (a peer with a root scheme of its
                // own, such as a v1 node, never reports a matching root): no leaf listing.
                SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "unchanged"));
                return new SyncPassResult(false, 0, 0, 0, roundTrips, 0, 0, true) { Unchanged = true };
            }

            DiffResult diff = await ExtendedSync.DiffAsync(
                _index, peer, capabilities, _options.MaxLeavesPerRequest, Deadline, cancellationToken, _seededSalt).ConfigureAwait(false);
            roundTrips += diff.RemotePages;
            if (!diff.Complete)
            {
                SyncLog.AntiEntropyPartialDiff(_logger, peer.Name, diff.CoveredUpTo.GetValueOrDefault());
            }

            foreach (AssertionHash[] batch in DiffEngine.PlanFetches(diff.MissingLocally, _options.FetchBatchSize))
            {
                IReadOnlyList<AssertionRecord> records;
                using (CallDeadline call = Deadline(cancellationToken))
                {
                    records = await peer.FetchAsync(batch, call.Token).ConfigureAwait(false);
                }

                roundTrips++;
                SyncDiagnostics.FetchRequests.Add(1);
                var requested = new HashSet<AssertionHash>(batch);
                foreach (AssertionRecord? answered in records)
                {
                    AssertionRecord? record = answered;
                    HlcTimestamp timestamp = record?.Timestamp ?? HlcTimestamp.None;
                    string? reason = record is null
                        ? "the peer answered a null record."
                        : !requested.Remove(record.Hash)
                            ? $"the peer answered {record.Hash}, which was not requested (or answered it twice)."
                            : _index.Contains(record.Hash)
                                ? string.Empty
                                : _verifier.Verify(record.Hash, record.Data.Span, ref timestamp);
                    if (reason is { Length: 0 })
                    {
                        continue; // Arrived meanwhile through another path.
                    }

                    if (reason is not null)
                    {
                        rejected++;
                        SyncDiagnostics.FetchRejected.Add(1);
                        SyncLog.FetchedAssertionRejected(_logger, peer.Name, reason);
                        continue;
                    }

                    if (timestamp != record!.Timestamp)
                    {
                        record = new AssertionRecord(record.Hash, record.Data, timestamp); // stamped here (a v1 answer)
                    }

                    if (await StoreVerifiedAsync(record, cancellationToken).ConfigureAwait(false))
                    {
                        fetched++;
                        bytesIn += record!.Data.Length;
                    }
                }
            }

            PushOutcome push = await ExtendedSync.PushAsync(
                _store,
                peer,
                capabilities,
                diff.MissingRemotely,
                Deadline,
                (hash, error) => SyncLog.PushRejectedByPeer(_logger, peer.Name, hash, error),
                cancellationToken).ConfigureAwait(false);
            pushed = push.Pushed;
            bytesOut = push.BytesSent;
            roundTrips += push.Calls;
            if (diff.Complete && diff.MissingLocally.Count == 0 && diff.MissingRemotely.Count == 0)
            {
                capabilities.Converged = new ConvergedSummaries(local, exchange.Remote);
            }

            SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "synced"));
            SyncDiagnostics.FetchedAssertions.Add(fetched);
            SyncDiagnostics.BytesReceived.Add(bytesIn, SyncDiagnostics.Tag("kind", "fetch"));
            SyncDiagnostics.BytesSent.Add(bytesOut, SyncDiagnostics.Tag("kind", "push"));
            SyncLog.AntiEntropyCompleted(_logger, peer.Name, false, fetched, pushed, rejected, diff.Complete);
            activity?.SetTag("stemedb.sync.fetched", fetched);
            activity?.SetTag("stemedb.sync.pushed", pushed);
            return new SyncPassResult(false, fetched, pushed, rejected, roundTrips, bytesIn, bytesOut, diff.Complete);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            SyncDiagnostics.AntiEntropyRounds.Add(1, SyncDiagnostics.Tag("result", "failed"));
            SyncDiagnostics.FetchedAssertions.Add(fetched);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            if (ex is OperationCanceledException)
            {
                // Only a per-call deadline cancels without the caller's token: report it as a peer failure.
                throw new SyncPeerException(
                    SyncStatusCode.DeadlineExceeded,
                    $"Peer '{peer.Name}' did not answer within {_options.PeerCallTimeout}; {fetched} assertions were stored before.",
                    ex);
            }

            throw;
        }
    }

    private sealed class PeerEntry
    {
        private readonly CancellationTokenSource _removed = new();

        public PeerEntry(ISyncPeer peer) => Peer = peer;

        public ISyncPeer Peer { get; }

        public Task? Loop { get; set; }

        public CancellationToken Removed => _removed.Token;

        public bool IsRemoved => _removed.IsCancellationRequested;

        public void Remove() => _removed.Cancel();
    }
}
