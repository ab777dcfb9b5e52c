using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using StemeDb.Sync.Testing.Internal;

namespace StemeDb.Sync.Testing;

/// <summary>
/// The behaviour every <see cref="ISyncPeer"/> transport must have, with the server pipeline behind it. Derive a
/// <c>[TestFixture]</c> from it and implement <see cref="ConnectAsync"/> (serve the given <see cref="SyncServer"/> over
/// your transport and return a peer that reaches it) and <see cref="StopServingAsync"/> (stop serving it, as a node that
/// went away).
/// <code>
/// [TestFixture]
/// public sealed class MyTransportContractTests : SyncPeerContractTests
/// {
///     protected override ValueTask&lt;ISyncPeer&gt; ConnectAsync(SyncServer server, CancellationToken cancellationToken) =>
///         MyTransport.ServeAndConnectAsync(server, cancellationToken);
///
///     protected override ValueTask StopServingAsync(SyncServer server, CancellationToken cancellationToken) =>
///         MyTransport.StopServingAsync(server, cancellationToken);
/// }
/// </code>
/// </summary>
/// <remarks>
/// The suite checks three things. First, the calls carry the protocol's semantics between a node's handler and a caller:
/// ping, roots, leaf pages, fetch, gossip and the extensions. Second, every call goes through a <see cref="SyncServer"/>
/// with a <see cref="PeerGuard"/> and an <see cref="ISyncCallAuthorizer"/>, as a node serves it, and what the pipeline
/// decides reaches the caller the same way on every transport: a refusal by the guard
/// (<see cref="SyncStatusCode.ResourceExhausted"/>) or by the authorizer (its code), a handler's crash
/// (<see cref="SyncStatusCode.Internal"/>, without its details), a server that is gone
/// (<see cref="SyncStatusCode.Unavailable"/>), the caller's cancellation (<see cref="OperationCanceledException"/>), a
/// node's per-call deadline (<see cref="SyncStatusCode.DeadlineExceeded"/>), and a request over the protocol's limits
/// (<see cref="ArgumentException"/>, before any call). Third, a node that syncs through the peer rejects every answer
/// outside the protocol from a hostile handler behind it, stores nothing of it and keeps working: a transport only maps
/// messages, and the engine checks every answer, so this holds on every transport. Each test serves fresh servers;
/// peers are released by <see cref="DisposePeerAsync"/> after it.
/// </remarks>
public abstract partial class SyncPeerContractTests
{
    private const ulong OldTime = 1_700_000_000_000;
    private readonly List<ISyncPeer> _peers = new();
    private readonly List<SyncNode> _nodes = new();

    /// <summary>Whether the transport carries the extensions (cursor paging, <c>Reconcile</c>, <c>GossipBatch</c>, <c>StreamAssertions</c>); a v1-only transport returns <see langword="false"/>.</summary>
    protected virtual bool CarriesExtensions => true;

    /// <summary>
    /// Serves <paramref name="server"/> over the transport under test, as a host would (every call through
    /// <see cref="SyncServer.For(SyncCaller)"/>), and returns a peer that reaches it.
    /// </summary>
    /// <param name="server">The server to serve: a node's or a scripted handler behind a guard and an authorizer.</param>
    /// <param name="cancellationToken">Cancels the set-up.</param>
    /// <returns>The peer under test.</returns>
    protected abstract ValueTask<ISyncPeer> ConnectAsync(SyncServer server, CancellationToken cancellationToken);

    /// <summary>
    /// Stops serving <paramref name="server"/>, as a node that went away: calls to it through the peers that
    /// <see cref="ConnectAsync"/> returned fail as <see cref="SyncStatusCode.Unavailable"/> afterwards.
    /// </summary>
    /// <param name="server">A server given to <see cref="ConnectAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the stop.</param>
    /// <returns>A task that completes when the server is no longer served.</returns>
    protected abstract ValueTask StopServingAsync(SyncServer server, CancellationToken cancellationToken);

    /// <summary>Releases a peer created by <see cref="ConnectAsync"/>; disposes it when it is disposable.</summary>
    /// <param name="peer">The peer.</param>
    /// <returns>A task that completes when the peer is released.</returns>
    protected virtual ValueTask DisposePeerAsync(ISyncPeer peer) => Disposal.DisposeAsync(peer);

    /// <summary>Releases the peers and nodes of the test.</summary>
    /// <returns>A task that completes when everything is released.</returns>
    [TearDown]
    public async Task ReleasePeersAsync()
    {
        foreach (ISyncPeer peer in _peers)
        {
            await DisposePeerAsync(peer).ConfigureAwait(false);
        }

        foreach (SyncNode node in _nodes)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        _peers.Clear();
        _nodes.Clear();
    }

    /// <summary>Ping answers the serving node's id and assertion count.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task PingAsync_ServedNode_AnswersItsIdAndCount(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 3, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        PingResult ping = await peer.PingAsync(NodeFor(2), cancellationToken).ConfigureAwait(false);

        Assert.That(ping.NodeId, Is.EqualTo(server.NodeId));
        Assert.That(ping.AssertionCount, Is.EqualTo(3));
    }

    /// <summary>ExchangeRoots answers the serving node's root and count, and whether they match the caller's.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task ExchangeRootsAsync_SameAndDifferentSets_AnswerRemoteSummaryAndMatch(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        var serverSummary = new RootSummary(server.Root, server.Count);

        RootExchangeResult same = await peer.ExchangeRootsAsync(serverSummary, cancellationToken).ConfigureAwait(false);
        RootExchangeResult other = await peer.ExchangeRootsAsync(new RootSummary(Record(99).Hash, 1), cancellationToken).ConfigureAwait(false);

        Assert.That(same.RootsMatch, Is.True);
        Assert.That(same.Remote, Is.EqualTo(serverSummary));
        Assert.That(other.RootsMatch, Is.False);
        Assert.That(other.Remote, Is.EqualTo(serverSummary));
    }

    /// <summary>The v1 GetLeaves lists at most the asked number of the node's hashes, says when it truncated, and lists all of them otherwise.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GetLeavesAsync_FirstPage_ListsAtMostMaxAndSaysWhenTruncated(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 5, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        AssertionHash[] all = HashesOf(1, 5);

        LeavesPage part = await peer.GetLeavesAsync(3, cancellationToken).ConfigureAwait(false);
        LeavesPage whole = await peer.GetLeavesAsync(10, cancellationToken).ConfigureAwait(false);

        Assert.That(part.Leaves, Has.Count.EqualTo(3));
        Assert.That(part.Leaves, Is.SubsetOf(all));
        Assert.That(part.Truncated, Is.True);
        Assert.That(whole.Leaves, Is.EquivalentTo(all));
        Assert.That(whole.Truncated, Is.False);
    }

    /// <summary>Fetch answers the asked records that the node holds, with their bytes and timestamps, and skips the others.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task FetchAsync_HeldAndMissingHashes_AnswersTheHeldRecordsWithTimestamps(CancellationToken cancellationToken)
    {
        var store = new InMemoryAssertionStore();
        SyncNode server = await NodeAsync(1, records: 2, cancellationToken, store).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        AssertionHash[] held = HashesOf(1, 2);

        IReadOnlyList<AssertionRecord> records = await peer.FetchAsync(new[] { held[0], Record(99).Hash, held[1] }, cancellationToken).ConfigureAwait(false);

        Assert.That(records.Select(r => r.Hash), Is.EquivalentTo(held));
        foreach (AssertionRecord record in records)
        {
            AssertionRecord? stored = await store.GetAsync(record.Hash, cancellationToken).ConfigureAwait(false);
            Assert.That(record.Data.ToArray(), Is.EqualTo(stored!.Data.ToArray()));
            Assert.That(record.Timestamp, Is.EqualTo(stored.Timestamp));
        }
    }

    /// <summary>Gossip of a valid record is accepted and stored; gossip whose hash does not match its bytes is refused with a reason and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GossipAsync_ValidAndForgedRecords_AcceptsOneRefusesTheOther(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        AssertionRecord valid = Record(1);
        AssertionRecord other = Record(2);

        GossipResult accepted = await peer.GossipAsync(valid, cancellationToken).ConfigureAwait(false);
        GossipResult refused = await peer.GossipAsync(new AssertionRecord(other.Hash, valid.Data, valid.Timestamp), cancellationToken).ConfigureAwait(false);

        Assert.That(accepted, Is.EqualTo(GossipResult.Ok));
        Assert.That(refused.Accepted, Is.False);
        Assert.That(refused.Error, Is.Not.Empty);
        Assert.That(server.Count, Is.EqualTo(1));
    }

    /// <summary>A node that syncs through the peer pulls everything it lacks, across several fetch batches and leaf pages.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(120_000)]
    public async Task SyncWithPeerAsync_ThroughThePeer_PullsEverythingItLacks(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 2_500, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        SyncPassResult result = await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false);

        Assert.That(result.Fetched, Is.EqualTo(2_500));
        Assert.That(result.Rejected, Is.Zero);
        Assert.That(client.Count, Is.EqualTo(2_500));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    /// <summary>The record a test's node <paramref name="seed"/> holds: deterministic bytes with a timestamp in the past.</summary>
    /// <param name="seed">Which record.</param>
    /// <returns>The record.</returns>
    protected static AssertionRecord Record(int seed)
    {
        byte[] data = new byte[24 + (seed % 40)];
        new Random(seed).NextBytes(data);
        BitConverter.TryWriteBytes(data.AsSpan(0, 4), seed);
        return new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(OldTime, 0, NodeFor(seed % 7)));
    }

    private static NodeId NodeFor(int i)
    {
        byte[] bytes = new byte[NodeId.Length];
        bytes[0] = 0xC0;
        BitConverter.TryWriteBytes(bytes.AsSpan(12), i + 1);
        return new NodeId(bytes);
    }

    private static AssertionHash[] HashesOf(int first, int count) =>
        Enumerable.Range(first, count).Select(i => Record(i).Hash).ToArray();

    private static AssertionRecord[] RecordsOf(int first, int count) =>
        Enumerable.Range(first, count).Select(Record).ToArray();

    private async Task<SyncNode> NodeAsync(
        int id, int records, CancellationToken cancellationToken, IAssertionStore? store = null, TimeProvider? timeProvider = null, TimeSpan? peerCallTimeout = null)
    {
        store ??= new InMemoryAssertionStore();
        for (int i = 1; i <= records; i++)
        {
            await store.PutAsync(Record(i), cancellationToken).ConfigureAwait(false);
        }

        var node = new SyncNode(
            new SyncNodeOptions
            {
                NodeId = NodeFor(1000 + id),
                ContentValidator = AcceptAllContentValidator.Instance,
                AntiEntropyInterval = Timeout.InfiniteTimeSpan,
                PeerCallTimeout = peerCallTimeout ?? TimeSpan.FromSeconds(30),
            },
            store,
            timeProvider: timeProvider);
        _nodes.Add(node);
        await node.StartAsync(cancellationToken).ConfigureAwait(false);
        return node;
    }

    /// <summary>A peer to <paramref name="handler"/>, served behind a guard with the default limits and an authorizer that allows every call.</summary>
    private Task<ISyncPeer> PeerAsync(ISyncRequestHandler handler, CancellationToken cancellationToken) =>
        PeerAsync(Serve(handler), cancellationToken);

    private async Task<ISyncPeer> PeerAsync(SyncServer server, CancellationToken cancellationToken)
    {
        ISyncPeer peer = await ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        _peers.Add(peer);
        return peer;
    }

    /// <summary>The server side of <paramref name="handler"/>: a guard with <paramref name="limits"/> (the defaults when <see langword="null"/>) and <paramref name="authorizer"/> (one that allows every call when <see langword="null"/>).</summary>
    private static SyncServer Serve(ISyncRequestHandler handler, PeerGuardOptions? limits = null, RecordingAuthorizer? authorizer = null) =>
        new(handler, new PeerGuard(limits ?? new PeerGuardOptions()), authorizer ?? new RecordingAuthorizer());
}
