using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;
using StemeDb.Sync.Testing;
using StemeDb.Sync.Tests.Engine;
using StemeDb.Sync.Tests.Reconciliation;

namespace StemeDb.Sync.Tests.Streams;

/// <summary><see cref="AssertionStream"/> against peers: export by StreamAssertions or through paged leaves and fetches, push through batches.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class AssertionStreamPeerTests : NodeTestBase
{
    [Test]
    public async Task ExportFromPeer_MoreThanOnePageOfLeaves_ExportsEveryAssertion()
    {
        SyncNode source = await LoadedNodeAsync(12_000);
        var peer = new HandlerPeer(source.Handler);

        byte[] bytes = await ExportAsync(peer);
        SyncNode target = await StartNodeAsync(Manual(2));
        AssertionImportResult result = await AssertionStream.ImportAsync(new MemoryStream(bytes), target);

        Assert.That(result.Added, Is.EqualTo(12_000));
        Assert.That(target.Root, Is.EqualTo(source.Root));
        Assert.That(peer.LeavesCalls, Is.EqualTo(2), "two pages of at most 10,000");
    }

    [Test]
    public async Task ExportFromPeer_V1PeerWithinOnePage_ExportsEveryAssertion()
    {
        SyncNode source = await LoadedNodeAsync(500);

        byte[] bytes = await ExportAsync(new HandlerPeer(source.Handler) { Paging = false, Reconcile = false, Batch = false });
        SyncNode target = await StartNodeAsync(Manual(2));
        await AssertionStream.ImportAsync(new MemoryStream(bytes), target);

        Assert.That(target.Root, Is.EqualTo(source.Root));
    }

    [Test]
    public async Task ExportFromPeer_V1PeerBeyondOnePage_FailsUnimplementedWithoutAnEndMarker()
    {
        SyncNode source = await LoadedNodeAsync(10_001);
        var output = new MemoryStream();

        SyncPeerException? error = Assert.ThrowsAsync<SyncPeerException>(
            async () => await AssertionStream.ExportAsync(new HandlerPeer(source.Handler) { Paging = false }, PipeWriter.Create(output)));

        Assert.That(error!.Code, Is.EqualTo(SyncStatusCode.Unimplemented));
        Assert.That(error.Message, Does.Contain("first 10000 leaves"));
    }

    [Test]
    public async Task PushToPeer_V1Peer_EveryRecordArrivesByUnaryGossip()
    {
        List<AssertionRecord> records = StreamTestKit.Records(1_500);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);
        SyncNode target = await StartNodeAsync(Manual(2));
        var peer = new HandlerPeer(target.Handler) { Batch = false };

        AssertionImportResult result = await AssertionStream.PushAsync(PipeReader.Create(new MemoryStream(bytes)), peer);

        Assert.That(result, Is.EqualTo(new AssertionImportResult(1_500, 1_500, 0, bytes.Length)));
        Assert.That(target.Root, Is.EqualTo(EngineTestKit.RootOf(records.Select(r => r.Hash))));
        Assert.That(peer.GossipCalls, Is.EqualTo(1_500));
    }

    [Test]
    public async Task PushToPeer_RecordWhoseBytesDoNotMatchItsHash_StopsThereAfterSendingTheRecordsBefore()
    {
        List<AssertionRecord> records = StreamTestKit.Records(5);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        bytes[offsets[3] + AssertionStreamFormat.RecordFixedLength] ^= 0x80;
        SyncNode target = await StartNodeAsync(Manual(2));

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(
            async () => await AssertionStream.PushAsync(PipeReader.Create(new MemoryStream(bytes)), new HandlerPeer(target.Handler)));

        Assert.That((error!.Offset, error.Record, error.Committed), Is.EqualTo((offsets[3], 3L, 3L)));
        Assert.That(target.Count, Is.EqualTo(3));
    }

    [Test]
    public async Task PushToPeer_PeerRefusesARecord_CountsItAndPushesTheRest()
    {
        List<AssertionRecord> records = StreamTestKit.Records(3);
        byte[] refused = EngineTestKit.Data(9);
        refused[0] = 0xFF;
        records.Insert(1, new AssertionRecord(AssertionHash.Compute(refused), refused, records[0].Timestamp));
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);
        SyncNode target = await StartNodeAsync(EngineTestKit.Options(2, o => o.RunBackgroundLoops = false, new RejectFfValidator()));

        AssertionImportResult result = await AssertionStream.PushAsync(PipeReader.Create(new MemoryStream(bytes)), new HandlerPeer(target.Handler));

        Assert.That((result.Records, result.Added, result.Rejected), Is.EqualTo((4L, 3L, 1L)));
        Assert.That(target.Count, Is.EqualTo(3));
    }

    [Test]
    public async Task ExportFromPeer_PeerWithStreamAssertions_ExportsEveryAssertionInOneCall()
    {
        SyncNode source = await LoadedNodeAsync(12_000);
        var network = new InMemoryNetwork();
        network.SetEndpoint("source", source.Handler);

        byte[] bytes = await ExportAsync(network.CreatePeer("export", "source"));
        SyncNode target = await StartNodeAsync(Manual(2));
        AssertionImportResult result = await AssertionStream.ImportAsync(new MemoryStream(bytes), target);

        Assert.That(result.Added, Is.EqualTo(12_000));
        Assert.That(target.Root, Is.EqualTo(source.Root));
        Assert.That(network.Statistics.Sent, Is.EqualTo(1), "one StreamAssertions call, no leaves, no fetches");
    }

    [Test]
    public async Task ExportFromPeer_StreamedRecordDoesNotMatchItsHash_FailsInvalidResponse()
    {
        List<AssertionRecord> records = StreamTestKit.Records(5).OrderBy(r => r.Hash).ToList();
        records[2] = new AssertionRecord(records[2].Hash, records[3].Data, records[2].Timestamp);
        (byte[] forged, _) = await StreamTestKit.WriteAsync(records);
        var network = new InMemoryNetwork();
        network.SetEndpoint("source", new StreamOnlyHandler(forged));

        var ex = Assert.ThrowsAsync<SyncPeerException>(async () => await ExportAsync(network.CreatePeer("export", "source")));

        Assert.That(ex!.Code, Is.EqualTo(SyncStatusCode.InvalidResponse), ex.Message);
    }

    private async Task<SyncNode> LoadedNodeAsync(int count)
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        await node.IngestManyAsync(Enumerable.Range(0, count).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToList());
        return node;
    }

    /// <summary>A handler that serves only StreamAssertions, with the given bytes.</summary>
    private sealed class StreamOnlyHandler(byte[] stream) : ISyncRequestHandler
    {
        public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAssertionsAsync(ReadOnlyMemory<byte> startAfter, ulong maxRecords, System.Threading.CancellationToken cancellationToken = default) =>
            new[] { (ReadOnlyMemory<byte>)stream }.ToAsyncEnumerable();

        public ValueTask<GossipResult> GossipAsync(GossipMessage message, System.Threading.CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<RootExchangeResult> ExchangeRootsAsync(ReadOnlyMemory<byte> callerRoot, ulong callerCount, System.Threading.CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<LeavesPage> GetLeavesAsync(uint maxLeaves, System.Threading.CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<AssertionRecord>> FetchAsync(IReadOnlyList<ReadOnlyMemory<byte>> hashes, System.Threading.CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<PingResult> PingAsync(ReadOnlyMemory<byte> callerNodeId, System.Threading.CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private static async Task<byte[]> ExportAsync(ISyncPeer peer)
    {
        var output = new MemoryStream();
        PipeWriter pipe = PipeWriter.Create(output);
        await AssertionStream.ExportAsync(peer, pipe);
        await pipe.CompleteAsync();
        return output.ToArray();
    }
}
