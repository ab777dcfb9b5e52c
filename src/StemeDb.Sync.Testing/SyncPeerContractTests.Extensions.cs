using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace StemeDb.Sync.Testing;

/// <content>The wire extensions: cursor paging, <c>GossipBatch</c>, <c>ReconcileSymbols</c> and <c>StreamAssertions</c>, with hostile streams.</content>
public abstract partial class SyncPeerContractTests
{
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

    /// <summary>Opens a ReconcileSymbols stream, sends one request and returns its answer.</summary>
    private static async Task<ReconcileSymbolsResponse> ExchangeOnceAsync(ISyncPeer peer, ReconcileSymbolsRequest request, CancellationToken cancellationToken)
    {
        IReconcileSymbolsCall call = await peer.OpenReconcileSymbolsAsync(cancellationToken).ConfigureAwait(false);
        await using (call.ConfigureAwait(false))
        {
            return await call.ExchangeAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }
}
