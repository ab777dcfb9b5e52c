using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>Local ingest (<c>LocalIngest</c>): single and bulk, with stores that copy, keep records, fail or complete asynchronously.</summary>
[TestFixture]
public sealed class LocalIngestTests : NodeTestBase
{
    [Test]
    public async Task IngestAsync_NewAssertion_StoredIndexedAndStamped()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        byte[] data = EngineTestKit.Data(1);

        IngestResult result = await node.IngestAsync(data);

        Assert.That(result.Added, Is.True);
        Assert.That(result.Hash, Is.EqualTo(AssertionHash.Compute(data)));
        Assert.That(result.Timestamp, Is.EqualTo(new HlcTimestamp((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds(), 0, EngineTestKit.NodeIdFor(1))));
        AssertionRecord? stored = await store.GetAsync(result.Hash);
        Assert.That(stored!.Data.ToArray(), Is.EqualTo(data));
        Assert.That(stored.Timestamp, Is.EqualTo(result.Timestamp));
        Assert.That(node.Count, Is.EqualTo(1));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(new[] { result.Hash })));
    }

    [Test]
    public async Task IngestAsync_SameBytesTwice_SecondNotAddedKeepsFirstTimestamp()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        byte[] data = EngineTestKit.Data(1);

        IngestResult first = await node.IngestAsync(data);
        Time.Advance(TimeSpan.FromSeconds(1));
        IngestResult second = await node.IngestAsync(data);

        Assert.That(second.Added, Is.False);
        Assert.That(second.Hash, Is.EqualTo(first.Hash));
        Assert.That(second.Timestamp, Is.EqualTo(first.Timestamp));
        Assert.That(node.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task IngestAsync_CallerReusesBuffer_StoredBytesUnchanged()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        byte[] data = EngineTestKit.Data(1);
        byte[] original = data.ToArray();

        IngestResult result = await node.IngestAsync(data);
        Array.Clear(data);

        Assert.That((await store.GetAsync(result.Hash))!.Data.ToArray(), Is.EqualTo(original));
    }

    [Test]
    public async Task IngestAsync_StoreKeepsRecordsAndCallerReusesBuffer_StoredBytesUnchanged()
    {
        // Arrange: a host store that keeps the very record objects it is given.
        var store = new RecordKeepingStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        byte[] data = EngineTestKit.Data(1);
        byte[] original = data.ToArray();

        // Act
        IngestResult result = await node.IngestAsync(data);
        Array.Clear(data);

        // Assert
        Assert.That(store.Records[result.Hash].Data.ToArray(), Is.EqualTo(original));
    }

    [Test]
    public async Task IngestAsync_CallerReusesBufferBeforeGossip_PeerGetsOriginalBytes()
    {
        // Arrange: the gossip is sent only after the caller has overwritten its buffer.
        SyncNode node = await StartNodeAsync(Manual(1));
        byte[]? gossiped = null;
        var peer = new FakePeer("p") { OnGossip = (record, _) => { gossiped = record.Data.ToArray(); return GossipResult.Ok; } };
        node.AddPeer(peer);
        byte[] data = EngineTestKit.Data(1);
        byte[] original = data.ToArray();

        // Act
        await node.IngestAsync(data);
        Array.Fill(data, (byte)0xEE);
        await node.PumpGossipOnceAsync();

        // Assert
        Assert.That(gossiped, Is.EqualTo(original));
    }

    [Test]
    public async Task IngestManyAsync_ValidBatch_StoresIndexesAndStampsEachInOrder()
    {
        // Arrange
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 300).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        // Act
        IReadOnlyList<IngestResult> results = await node.IngestManyAsync(batch);

        // Assert
        Assert.That(results, Has.Count.EqualTo(batch.Length));
        for (int i = 0; i < batch.Length; i++)
        {
            Assert.That(results[i].Added, Is.True);
            Assert.That(results[i].Hash, Is.EqualTo(AssertionHash.Compute(batch[i].Span)));
            Assert.That((await store.GetAsync(results[i].Hash))!.Timestamp, Is.EqualTo(results[i].Timestamp));
            if (i > 0)
            {
                Assert.That(results[i].Timestamp, Is.GreaterThan(results[i - 1].Timestamp));
            }
        }

        Assert.That(node.Count, Is.EqualTo(batch.Length));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(results.Select(r => r.Hash))));
    }

    [Test]
    public async Task IngestManyAsync_OneInvalidInTheMiddle_ThrowsWithPositionNothingStored()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new RejectFfValidator()), store);
        byte[][] batch = Enumerable.Range(0, 10).Select(EngineTestKit.Data).ToArray();
        batch[6][0] = 0xFF;

        var ex = Assert.ThrowsAsync<AssertionRejectedException>(async () => await node.IngestManyAsync(batch.Select(b => (ReadOnlyMemory<byte>)b).ToArray()));

        Assert.That(ex!.Index, Is.EqualTo(6));
        Assert.That(ex.Reason, Is.EqualTo(AssertionRejectionReason.InvalidContent));
        Assert.That(ex.Message, Does.Contain("Assertion 6 of 10"));
        Assert.That(ex.Message, Does.Contain("first byte 0xFF"));
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
        Assert.That(node.Root, Is.EqualTo(MerkleIndex.EmptyRoot));
    }

    [Test]
    public async Task IngestManyAsync_DuplicatesInBatchAndStore_AddedOnceKeepFirstTimestamp()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        IngestResult earlier = await node.IngestAsync(EngineTestKit.Data(1));
        Time.Advance(TimeSpan.FromSeconds(1));
        ReadOnlyMemory<byte>[] batch = { EngineTestKit.Data(2), EngineTestKit.Data(1), EngineTestKit.Data(2), EngineTestKit.Data(3) };

        IReadOnlyList<IngestResult> results = await node.IngestManyAsync(batch);

        Assert.That(results.Select(r => r.Added), Is.EqualTo(new[] { true, false, false, true }));
        Assert.That(results[1].Timestamp, Is.EqualTo(earlier.Timestamp));
        Assert.That(results[2].Timestamp, Is.EqualTo(results[0].Timestamp));
        Assert.That(node.Count, Is.EqualTo(3));
    }

    [Test]
    public async Task IngestManyAsync_StoreFailsPartWay_StoredOnesStayIndexed()
    {
        // Arrange: the store accepts three puts, then fails.
        var store = new FailingAfterStore(3);
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 8).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        // Act
        Assert.ThrowsAsync<IOException>(async () => await node.IngestManyAsync(batch));

        // Assert: exactly the stored three are in the index.
        Assert.That(await store.CountAsync(), Is.EqualTo(3));
        Assert.That(node.Count, Is.EqualTo(3));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(batch.Take(3).Select(b => AssertionHash.Compute(b.Span)))));
    }

    [Test]
    public async Task IngestManyAsync_StoreCompletesAsynchronously_AllStoredAndIndexedInOrder()
    {
        // Arrange: more assertions than the node keeps in flight, into a store whose puts complete later.
        var store = new AsyncStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 2500).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i % 2400)).ToArray();

        // Act
        IReadOnlyList<IngestResult> results = await node.IngestManyAsync(batch);

        // Assert: the last 100 repeat the first 100 and are not added again.
        Assert.That(results.Take(2400).All(r => r.Added), Is.True);
        Assert.That(results.Skip(2400).Any(r => r.Added), Is.False);
        for (int i = 0; i < batch.Length; i++)
        {
            Assert.That(results[i].Hash, Is.EqualTo(AssertionHash.Compute(batch[i].Span)));
        }

        Assert.That(results.Skip(2400).Select(r => r.Timestamp), Is.EqualTo(results.Take(100).Select(r => r.Timestamp)));
        Assert.That(await store.CountAsync(), Is.EqualTo(2400));
        Assert.That(node.Count, Is.EqualTo(2400));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(results.Select(r => r.Hash).Distinct())));
    }

    [Test]
    public async Task IngestManyAsync_AsyncStoreFailsWithPutsInFlight_ThrowsAndIndexesExactlyTheStored()
    {
        // Arrange: puts complete asynchronously and the 40th fails while others are still in flight.
        var store = new AsyncStore { FailPut = 40 };
        SyncNode node = await StartNodeAsync(Manual(1), store);
        ReadOnlyMemory<byte>[] batch = Enumerable.Range(0, 200).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        // Act
        Assert.ThrowsAsync<IOException>(async () => await node.IngestManyAsync(batch));

        // Assert: everything stored is indexed, and nothing else.
        var storedHashes = new List<AssertionHash>();
        await foreach (AssertionHash hash in store.EnumerateHashesAsync())
        {
            storedHashes.Add(hash);
        }

        Assert.That(storedHashes, Has.Count.EqualTo(199));
        Assert.That(node.Count, Is.EqualTo(199));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(storedHashes)));
    }

    [Test]
    public async Task IngestManyAsync_NullOrStoppedNode_Throws()
    {
        SyncNode node = await StartNodeAsync(Manual(1));

        Assert.ThrowsAsync<ArgumentNullException>(async () => await node.IngestManyAsync(null!));
        await node.StopAsync();
        Assert.ThrowsAsync<InvalidOperationException>(async () => await node.IngestManyAsync(new ReadOnlyMemory<byte>[] { EngineTestKit.Data(1) }));
    }

    [Test]
    public async Task IngestManyAsync_WithPeer_NewAssertionsGossipedWithOwnBytes()
    {
        SyncNode node = await StartNodeAsync(Manual(1));
        var gossiped = new List<byte[]>();
        var peer = new FakePeer("p") { OnGossip = (record, _) => { gossiped.Add(record.Data.ToArray()); return GossipResult.Ok; } };
        node.AddPeer(peer);
        byte[][] batch = Enumerable.Range(0, 3).Select(EngineTestKit.Data).ToArray();
        byte[][] originals = batch.Select(b => b.ToArray()).ToArray();

        await node.IngestManyAsync(batch.Select(b => (ReadOnlyMemory<byte>)b).ToArray());
        foreach (byte[] buffer in batch)
        {
            Array.Clear(buffer);
        }

        while (await node.PumpGossipOnceAsync())
        {
        }

        Assert.That(gossiped, Is.EquivalentTo(originals));
    }

    [Test]
    public async Task IngestAsync_InvalidContent_ThrowsWithReasonNothingStored()
    {
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new RejectFfValidator()), store);
        byte[] data = EngineTestKit.Data(1);
        data[0] = 0xFF;

        var ex = Assert.ThrowsAsync<AssertionRejectedException>(async () => await node.IngestAsync(data));

        Assert.That(ex!.Reason, Is.EqualTo(AssertionRejectionReason.InvalidContent));
        Assert.That(ex.Index, Is.Null);
        Assert.That(ex.Message, Does.Contain("first byte 0xFF"));
        Assert.That(ex.Message, Does.Not.Contain("(Parameter").And.Not.Contain(".."), "one clean sentence");
        Assert.That(await store.CountAsync(), Is.Zero);
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task IngestAsync_ValidatorReasonEndsWithPeriod_MessageIsOneCleanSentence()
    {
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new SentenceValidator()));

        var ex = Assert.ThrowsAsync<AssertionRejectedException>(async () => await node.IngestAsync(EngineTestKit.Data(1)));

        Assert.That(ex!.Message, Is.EqualTo("The assertion was rejected: Invalid assertion content: the subject is empty."));
        Assert.That(ex.ParamName, Is.Null);
    }

    [Test]
    public async Task IngestAsync_TooLarge_ThrowsNothingStored()
    {
        SyncNode node = await StartNodeAsync(Manual(1, o => o.MaxAssertionBytes = 10));

        var ex = Assert.ThrowsAsync<AssertionRejectedException>(async () => await node.IngestAsync(new byte[11]));

        Assert.That(ex!.Reason, Is.EqualTo(AssertionRejectionReason.TooLarge));
        Assert.That(ex.Message, Does.Contain("at most 10 bytes"));
        Assert.That(node.Count, Is.Zero);
    }

    [Test]
    public async Task Ingest_Counted_InIngestedMetric()
    {
        using var ingested = new MetricRecorder("stemedb.sync.ingested");
        SyncNode node = await StartNodeAsync(Manual(1));

        await node.IngestAsync(EngineTestKit.Data(1));
        await node.IngestAsync(EngineTestKit.Data(2));
        await node.IngestAsync(EngineTestKit.Data(1));

        Assert.That(ingested.Total, Is.EqualTo(2));
    }

    /// <summary>Refuses everything with a reason that is already a sentence.</summary>
    private sealed class SentenceValidator : IAssertionContentValidator
    {
        public bool TryValidate(ReadOnlySpan<byte> data, out string? error)
        {
            error = "the subject is empty.";
            return false;
        }
    }
}
