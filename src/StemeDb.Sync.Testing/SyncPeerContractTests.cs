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
/// The behaviour every <see cref="ISyncPeer"/> transport must have. Derive a <c>[TestFixture]</c> from it and implement
/// <see cref="ConnectAsync"/>: serve the given handler over your transport and return a peer that reaches it.
/// <code>
/// [TestFixture]
/// public sealed class MyTransportContractTests : SyncPeerContractTests
/// {
///     protected override ValueTask&lt;ISyncPeer&gt; ConnectAsync(ISyncRequestHandler handler, CancellationToken cancellationToken) =>
///         MyTransport.ServeAndConnectAsync(handler, cancellationToken);
/// }
/// </code>
/// </summary>
/// <remarks>
/// The suite checks two things. First, the calls carry the protocol's semantics between a node's handler and a caller:
/// ping, roots, leaf pages, fetch, gossip and the extensions. Second, a node that syncs through the peer rejects every
/// answer outside the protocol from a hostile handler behind it, stores nothing of it and keeps working: a transport
/// only maps messages, and the engine checks every answer, so this holds on every transport. Each test serves fresh
/// handlers; peers are released by <see cref="DisposePeerAsync"/> after it.
/// </remarks>
public abstract class SyncPeerContractTests
{
    private const ulong OldTime = 1_700_000_000_000;
    private readonly List<ISyncPeer> _peers = new();
    private readonly List<SyncNode> _nodes = new();

    /// <summary>Whether the transport carries the extensions (cursor paging, <c>Reconcile</c>, <c>GossipBatch</c>, <c>StreamAssertions</c>); a v1-only transport returns <see langword="false"/>.</summary>
    protected virtual bool CarriesExtensions => true;

    /// <summary>Serves <paramref name="handler"/> over the transport under test and returns a peer that reaches it.</summary>
    /// <param name="handler">The handler to serve: a node's, or a scripted one.</param>
    /// <param name="cancellationToken">Cancels the set-up.</param>
    /// <returns>The peer under test.</returns>
    protected abstract ValueTask<ISyncPeer> ConnectAsync(ISyncRequestHandler handler, CancellationToken cancellationToken);

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

    /// <summary>The cursor extension pages through every hash once, in ascending order.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GetLeavesAsync_Cursor_PagesThroughEveryHashAscending(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 7, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        var seen = new List<AssertionHash>();
        AssertionHash? cursor = null;
        LeavesPage page;
        do
        {
            page = await peer.GetLeavesAsync(3, cursor, cancellationToken).ConfigureAwait(false);
            Assert.That(page.Leaves, Has.Count.InRange(1, 3));
            seen.AddRange(page.Leaves);
            cursor = page.Leaves[^1];
        }
        while (page.Truncated);

        Assert.That(seen, Is.EqualTo(HashesOf(1, 7).OrderBy(h => h).ToArray()));
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

    /// <summary>The GossipBatch extension answers once per assertion, in order.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task GossipBatchAsync_ValidAndForgedRecords_AnswersPerAssertionInOrder(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        AssertionRecord a = Record(1);
        AssertionRecord b = Record(2);
        var forged = new AssertionRecord(Record(3).Hash, a.Data, a.Timestamp);

        IReadOnlyList<GossipResult> results = await peer.GossipBatchAsync(new[] { a, forged, b }, cancellationToken).ConfigureAwait(false);

        Assert.That(results, Has.Count.EqualTo(3));
        Assert.That(results[0].Accepted, Is.True);
        Assert.That(results[1].Accepted, Is.False);
        Assert.That(results[2].Accepted, Is.True);
        Assert.That(server.Count, Is.EqualTo(2));
    }

    /// <summary>
    /// The ReconcileSymbols extension: the answers of one stream name one snapshot and its count, even when the node takes
    /// new assertions between them; a v1-only transport refuses it as <see cref="SyncStatusCode.Unimplemented"/>.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task OpenReconcileSymbolsAsync_TwoExchanges_DescribeOneSnapshot(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 50, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        if (!CarriesExtensions)
        {
            SyncPeerException? refused = Assert.ThrowsAsync<SyncPeerException>(
                async () => await ExchangeOnceAsync(peer, new ReconcileSymbolsRequest(1, 0, 6, 0), cancellationToken).ConfigureAwait(false));
            Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unimplemented));
            return;
        }

        IReconcileSymbolsCall symbols = await peer.OpenReconcileSymbolsAsync(cancellationToken).ConfigureAwait(false);
        await using (symbols.ConfigureAwait(false))
        {
            ReconcileSymbolsResponse first = await symbols.ExchangeAsync(new ReconcileSymbolsRequest(1, 0, 6, 0), cancellationToken).ConfigureAwait(false);
            await server.IngestAsync(Record(1_000).Data, cancellationToken).ConfigureAwait(false);
            ReconcileSymbolsResponse second = await symbols.ExchangeAsync(
                new ReconcileSymbolsRequest(1, 6, 8, first.Snapshot), cancellationToken).ConfigureAwait(false);

            Assert.That(first.SnapshotGone, Is.False);
            Assert.That(first.AssertionCount, Is.EqualTo(50));
            Assert.That(first.Symbols.Length, Is.GreaterThan(6 * 32));
            Assert.That(second.Snapshot, Is.EqualTo(first.Snapshot));
            Assert.That(second.AssertionCount, Is.EqualTo(50), "the answer describes the snapshot, not the set now");
            Assert.That(second.Symbols.Length, Is.GreaterThan(8 * 32));
        }
    }

    /// <summary>A malformed ReconcileSymbols request fails as <see cref="SyncStatusCode.InvalidArgument"/>.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task OpenReconcileSymbolsAsync_MalformedRequest_FailsInvalidArgument(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 5, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        SyncPeerException? refused = Assert.ThrowsAsync<SyncPeerException>(
            async () => await ExchangeOnceAsync(peer, new ReconcileSymbolsRequest(1, 0, 0, 0), cancellationToken).ConfigureAwait(false));

        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.InvalidArgument));
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

    /// <summary>A fetch answer holding a record nobody asked for fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_FetchAnswersUnrequestedRecord_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken) =>
        AssertBadAnswerAsync(
            honest => new ScriptedHandler(honest)
            {
                OnFetch = async (hashes, token) =>
                {
                    IReadOnlyList<AssertionRecord> records = await honest.FetchAsync(hashes, token).ConfigureAwait(false);
                    return records.Skip(1).Append(Record(99)).ToArray(); // as many records as asked, one of them unasked
                },
            },
            cancellationToken);

    /// <summary>A fetch answer holding the same record twice fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_FetchAnswersARecordTwice_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken) =>
        AssertBadAnswerAsync(
            honest => new ScriptedHandler(honest)
            {
                OnFetch = async (hashes, token) =>
                {
                    IReadOnlyList<AssertionRecord> records = await honest.FetchAsync(hashes.Take(1).ToArray(), token).ConfigureAwait(false);
                    return new[] { records[0], records[0] };
                },
            },
            cancellationToken);

    /// <summary>A leaf page longer than asked fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_LeafPageLongerThanAsked_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken) =>
        AssertBadAnswerAsync(
            honest => new ScriptedHandler(honest)
            {
                OnLeaves = async (max, token) =>
                {
                    LeavesPage page = await honest.GetLeavesAsync(uint.MaxValue, token).ConfigureAwait(false);
                    var extra = page.Leaves.Concat(Enumerable.Range(100, (int)Math.Min(max, 20_000u) + 1).Select(i => Record(i).Hash)).ToArray();
                    return new LeavesPage(extra, false);
                },
            },
            cancellationToken);

    /// <summary>Records whose bytes do not match their hash are refused one by one: the pass counts them, stores none of them, and keeps the honest ones.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_FetchAnswersForgedBytes_RejectsThemKeepsTheHonestOnes(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        AssertionHash forgedHash = HashesOf(1, 4)[0];
        var scripted = new ScriptedHandler(server.Handler)
        {
            OnFetch = async (hashes, token) =>
            {
                IReadOnlyList<AssertionRecord> records = await server.Handler.FetchAsync(hashes, token).ConfigureAwait(false);
                return records.Select(r => r.Hash == forgedHash ? new AssertionRecord(r.Hash, Record(99).Data, r.Timestamp) : r).ToArray();
            },
        };
        ISyncPeer peer = await PeerAsync(scripted, cancellationToken).ConfigureAwait(false);

        SyncPassResult result = await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false);

        Assert.That(result.Rejected, Is.EqualTo(1));
        Assert.That(result.Fetched, Is.EqualTo(3));
        Assert.That(client.Count, Is.EqualTo(3));
    }

    /// <summary>A handler that fails unexpectedly fails the pass with a <see cref="SyncPeerException"/>; the node stores nothing and syncs normally afterwards.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_HandlerFails_FailsThePassAndTheNodeKeepsWorking(CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        var scripted = new ScriptedHandler(server.Handler) { OnFetch = (_, _) => throw new InvalidOperationException("the store is gone") };
        ISyncPeer failing = await PeerAsync(scripted, cancellationToken).ConfigureAwait(false);
        ISyncPeer honest = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(failing, cancellationToken).ConfigureAwait(false));
        Assert.That(client.Count, Is.Zero);
        SyncPassResult result = await client.SyncWithPeerAsync(honest, cancellationToken).ConfigureAwait(false);

        Assert.That(result.Fetched, Is.EqualTo(4));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    /// <summary>
    /// The StreamAssertions extension sends every assertion as one assertion stream in chunks of 1 byte to 1 MiB; the
    /// concatenated chunks import into a fresh node as exactly the served set.
    /// </summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(120_000)]
    public async Task StreamAssertionsAsync_WholeSet_BoundedChunksFormOneStreamOfTheSet(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 2_500, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        var chunks = new List<int>();
        using var stream = new MemoryStream();
        await foreach (ReadOnlyMemory<byte> chunk in peer.StreamAssertionsAsync(null, 0, cancellationToken).ConfigureAwait(false))
        {
            chunks.Add(chunk.Length);
            stream.Write(chunk.Span);
        }

        SyncNode copy = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        stream.Position = 0;
        AssertionImportResult imported = await AssertionStream.ImportAsync(stream, copy, cancellationToken: cancellationToken).ConfigureAwait(false);

        Assert.That(chunks, Has.Count.GreaterThan(1), "2,500 records are more than one chunk's worth");
        Assert.That(chunks, Has.All.InRange(1, SyncProtocol.MaxStreamChunkBytes));
        Assert.That(imported.Records, Is.EqualTo(2_500));
        Assert.That(copy.Root, Is.EqualTo(server.Root));
    }

    /// <summary>StreamAssertions with a cursor and a limit sends exactly the next records after the cursor in hash order.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task StreamAssertionsAsync_CursorAndLimit_SendsTheNextRecordsInHashOrder(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 30, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        AssertionHash[] sorted = HashesOf(1, 30).OrderBy(h => h).ToArray();

        SyncNode copy = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        using MemoryStream stream = await ReadStreamAsync(peer.StreamAssertionsAsync(sorted[9], 5, cancellationToken)).ConfigureAwait(false);
        await AssertionStream.ImportAsync(stream, copy, cancellationToken: cancellationToken).ConfigureAwait(false);

        Assert.That(copy.Root, Is.EqualTo(SyncProtocol.ComputeRoot(sorted.Skip(10).Take(5))));
    }

    /// <summary>A node that holds nothing pulls the whole set by one streaming call: exchange, stream, exchange.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(120_000)]
    public async Task SyncWithPeerAsync_EmptyNode_PullsEverythingByOneStream(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 2_500, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);

        SyncPassResult result = await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false);

        Assert.That(result.RoundTrips, Is.EqualTo(3), "ExchangeRoots, StreamAssertions, ExchangeRoots");
        Assert.That(result.Fetched, Is.EqualTo(2_500));
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    /// <summary>A stream whose records are not in ascending hash order fails the pass as <see cref="SyncStatusCode.InvalidResponse"/>; the records before the disorder stay stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_StreamOutOfOrder_FailsInvalidResponseKeepsTheRecordsBefore(CancellationToken cancellationToken)
    {
        AssertionRecord[] sorted = RecordsOf(1, 6).OrderBy(r => r.Hash).ToArray();
        AssertionRecord[] order = [sorted[0], sorted[1], sorted[3], sorted[2], sorted[4], sorted[5]];
        return AssertBadStreamAsync(_ => StreamOfAsync(order, chunkBytes: 50), SyncStatusCode.InvalidResponse, kept: 3, cancellationToken);
    }

    /// <summary>A stream that becomes garbage mid-way fails the pass as <see cref="SyncStatusCode.InvalidResponse"/>; the whole records before stay stored.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_StreamCorruptMidway_FailsInvalidResponseKeepsTheRecordsBefore(CancellationToken cancellationToken)
    {
        AssertionRecord[] sorted = RecordsOf(1, 6).OrderBy(r => r.Hash).ToArray();
        return AssertBadStreamAsync(
            _ => StreamOfAsync(sorted, chunkBytes: 64, corruptRecord: 4), SyncStatusCode.InvalidResponse, kept: 4, cancellationToken);
    }

    /// <summary>A chunk over 1 MiB fails the pass as <see cref="SyncStatusCode.InvalidResponse"/> and stores nothing.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public Task SyncWithPeerAsync_StreamChunkOverOneMebibyte_FailsInvalidResponseStoresNothing(CancellationToken cancellationToken)
    {
        AssertionRecord[] sorted = RecordsOf(1, 4).OrderBy(r => r.Hash).ToArray();
        return AssertBadStreamAsync(_ => OversizedAsync(sorted), SyncStatusCode.InvalidResponse, kept: 0, cancellationToken);
    }

    /// <summary>A server that fails mid-stream fails the pass with a <see cref="SyncPeerException"/>; every whole record that arrived before stays stored, and the next pass completes the set.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_StreamBreaksMidway_FailsKeepsTheRecordsBeforeNextPassCompletes(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 6, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        AssertionRecord[] sorted = RecordsOf(1, 6).OrderBy(r => r.Hash).ToArray();
        ISyncPeer peer = await PeerAsync(new ScriptedHandler(server.Handler) { OnStream = (_, _) => StreamOfAsync(sorted, chunkBytes: 64, failAfterRecord: 3) }, cancellationToken).ConfigureAwait(false);

        Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false));
        Assert.That(client.Count, Is.EqualTo(3), "the three whole records before the break");

        ISyncPeer honest = await PeerAsync(server.Handler, cancellationToken).ConfigureAwait(false);
        await client.SyncWithPeerAsync(honest, cancellationToken).ConfigureAwait(false);
        Assert.That(client.Root, Is.EqualTo(server.Root));
    }

    /// <summary>A streamed record whose bytes do not match its hash is refused and counted; the others are stored, and the pass fetches the honest record afterwards.</summary>
    /// <returns>A task.</returns>
    [Test]
    [CancelAfter(60_000)]
    public async Task SyncWithPeerAsync_StreamForgedRecord_RefusesItStoresTheOthersAndFetchesItHonestly(CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 5, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        AssertionRecord[] sorted = RecordsOf(1, 5).OrderBy(r => r.Hash).ToArray();
        AssertionRecord[] forged = sorted.Select((r, i) => i == 2 ? new AssertionRecord(r.Hash, Record(99).Data, r.Timestamp) : r).ToArray();
        ISyncPeer peer = await PeerAsync(new ScriptedHandler(server.Handler) { OnStream = (_, _) => StreamOfAsync(forged, chunkBytes: 1000) }, cancellationToken).ConfigureAwait(false);

        SyncPassResult result = await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false);

        Assert.That(result.Rejected, Is.EqualTo(1));
        Assert.That(result.Fetched, Is.EqualTo(5), "four streamed, the fifth fetched from the honest fetch answer");
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

    private static async Task<MemoryStream> ReadStreamAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var stream = new MemoryStream();
        await foreach (ReadOnlyMemory<byte> chunk in chunks.ConfigureAwait(false))
        {
            stream.Write(chunk.Span);
        }

        stream.Position = 0;
        return stream;
    }

    /// <summary>
    /// An assertion stream of <paramref name="records"/> in the given order (each record's bytes as
    /// <see cref="AssertionStream.ExportAsync(IAssertionStore, Stream, IProgress{AssertionStreamProgress}?, CancellationToken)"/>
    /// writes them), in chunks of <paramref name="chunkBytes"/>: optionally with the record at <paramref name="corruptRecord"/>
    /// replaced by garbage, or failing after the chunk that holds the first <paramref name="failAfterRecord"/> records.
    /// </summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamOfAsync(
        IReadOnlyList<AssertionRecord> records, int chunkBytes, int corruptRecord = -1, int failAfterRecord = -1)
    {
        const int headerBytes = 12, endBytes = 9; // docs/STREAM-FORMAT.md
        using var bytes = new MemoryStream();
        long failAt = -1;
        for (int i = 0; i < records.Count; i++)
        {
            var one = new InMemoryAssertionStore();
            await one.PutAsync(records[i]).ConfigureAwait(false);
            using var export = new MemoryStream();
            await AssertionStream.ExportAsync(one, export).ConfigureAwait(false);
            byte[] exported = export.ToArray();
            if (i == 0)
            {
                bytes.Write(exported, 0, headerBytes);
            }

            if (i == failAfterRecord)
            {
                failAt = bytes.Length + 10; // the break comes ten bytes into this record
            }

            byte[] record = exported[headerBytes..^endBytes];
            if (i == corruptRecord)
            {
                Array.Fill(record, (byte)0xEE);
            }

            bytes.Write(record);
        }

        bytes.WriteByte(0x45);
        bytes.Write(BitConverter.GetBytes((ulong)records.Count));
        byte[] all = bytes.ToArray();
        for (int start = 0; start < all.Length; start += chunkBytes)
        {
            int length = Math.Min(chunkBytes, all.Length - start);
            if (failAt >= 0 && start + length > failAt)
            {
                yield return all.AsMemory(start, (int)(failAt - start));
                throw new InvalidOperationException("The server's store went away mid-stream.");
            }

            yield return all.AsMemory(start, length);
        }
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> OversizedAsync(IReadOnlyList<AssertionRecord> records)
    {
        using MemoryStream valid = await ReadStreamAsync(StreamOfAsync(records, chunkBytes: int.MaxValue)).ConfigureAwait(false);
        byte[] chunk = new byte[SyncProtocol.MaxStreamChunkBytes + 1];
        valid.ToArray().CopyTo(chunk, 0);
        yield return chunk;
    }

    private async Task AssertBadStreamAsync(
        Func<ISyncRequestHandler, IAsyncEnumerable<ReadOnlyMemory<byte>>> stream, SyncStatusCode code, int kept, CancellationToken cancellationToken)
    {
        Assume.That(CarriesExtensions, "the transport carries v1 only");
        SyncNode server = await NodeAsync(1, records: 6, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(new ScriptedHandler(server.Handler) { OnStream = (_, _) => stream(server.Handler) }, cancellationToken).ConfigureAwait(false);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false));

        Assert.That(ex!.Code, Is.EqualTo(code), ex.Message);
        Assert.That(client.Count, Is.EqualTo(kept));
    }

    private async Task AssertBadAnswerAsync(Func<ISyncRequestHandler, ISyncRequestHandler> hostile, CancellationToken cancellationToken)
    {
        SyncNode server = await NodeAsync(1, records: 4, cancellationToken).ConfigureAwait(false);
        SyncNode client = await NodeAsync(2, records: 0, cancellationToken).ConfigureAwait(false);
        ISyncPeer peer = await PeerAsync(hostile(server.Handler), cancellationToken).ConfigureAwait(false);

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await client.SyncWithPeerAsync(peer, cancellationToken).ConfigureAwait(false));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse), ex.Message);
        Assert.That(client.Count, Is.Zero);
    }

    private async Task<SyncNode> NodeAsync(int id, int records, CancellationToken cancellationToken, IAssertionStore? store = null)
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
            },
            store);
        _nodes.Add(node);
        await node.StartAsync(cancellationToken).ConfigureAwait(false);
        return node;
    }

    /// <summary>Opens a ReconcileSymbols stream, sends one request and returns its answer.</summary>
    private static async Task<ReconcileSymbolsResponse> ExchangeOnceAsync(ISyncPeer peer, ReconcileSymbolsRequest request, CancellationToken cancellationToken)
    {
        IReconcileSymbolsCall call = await peer.OpenReconcileSymbolsAsync(cancellationToken).ConfigureAwait(false);
        await using (call.ConfigureAwait(false))
        {
            return await call.ExchangeAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ISyncPeer> PeerAsync(ISyncRequestHandler handler, CancellationToken cancellationToken)
    {
        ISyncPeer peer = await ConnectAsync(handler, cancellationToken).ConfigureAwait(false);
        _peers.Add(peer);
        return peer;
    }

    /// <summary>A handler that answers like another one except where a test scripts it; it implements no extension but paging, and a scripted stream.</summary>
    private sealed class ScriptedHandler : ISyncRequestHandler
    {
        private readonly ISyncRequestHandler _honest;

        public ScriptedHandler(ISyncRequestHandler honest) => _honest = honest;

        public Func<IReadOnlyList<ReadOnlyMemory<byte>>, CancellationToken, ValueTask<IReadOnlyList<AssertionRecord>>>? OnFetch { get; init; }

        public Func<uint, CancellationToken, ValueTask<LeavesPage>>? OnLeaves { get; init; }

        public Func<ReadOnlyMemory<byte>, ulong, IAsyncEnumerable<ReadOnlyMemory<byte>>>? OnStream { get; init; }

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, CancellationToken cancellationToken = default) =>
            _honest.GossipAsync(message, cancellationToken);

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, CancellationToken cancellationToken = default) =>
            _honest.ExchangeRootsAsync(callerRoot, callerCount, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, CancellationToken cancellationToken = default) =>
            OnLeaves?.Invoke(maxLeaves, cancellationToken) ?? _honest.GetLeavesAsync(maxLeaves, cancellationToken);

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, ReadOnlyMemory<byte> startAfter, CancellationToken cancellationToken = default) =>
            OnLeaves?.Invoke(maxLeaves, cancellationToken) ?? _honest.GetLeavesAsync(maxLeaves, startAfter, cancellationToken);

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, CancellationToken cancellationToken = default) =>
            OnFetch?.Invoke(hashes, cancellationToken) ?? _honest.FetchAsync(hashes, cancellationToken);

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, CancellationToken cancellationToken = default) =>
            _honest.PingAsync(callerNodeId, cancellationToken);

        public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, CancellationToken cancellationToken = default) =>
            OnStream?.Invoke(startAfter, maxRecords) ?? throw new SyncRequestException(SyncStatusCode.Unimplemented, "StreamAssertions is not scripted.");
    }
}
