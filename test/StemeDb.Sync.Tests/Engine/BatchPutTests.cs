using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Engine;

/// <summary>Bulk loads through <see cref="IAssertionStore.PutManyAsync"/>: one call per batch, lent bytes, and what a failed call leaves.</summary>
[TestFixture]
public sealed class BatchPutTests
{
    [Test]
    public async Task ImportBatchRecords_LargeOnlyForAStoreThatWritesPutManyAsyncItself()
    {
        await using var memory = new SyncNode(EngineTestKit.Options(1), new InMemoryAssertionStore());
        await using var putByPut = new SyncNode(EngineTestKit.Options(2), new RecordKeepingStore());
        await using var batches = new SyncNode(EngineTestKit.Options(3), new BatchWritingStore());

        Assert.That(memory.ImportBatchRecords, Is.EqualTo(RecordBatch.MaxRecords));
        Assert.That(putByPut.ImportBatchRecords, Is.EqualTo(RecordBatch.MaxRecords), "the default PutManyAsync keeps the usual batch (and memory)");
        Assert.That(batches.ImportBatchRecords, Is.EqualTo(RecordBatch.MaxRecordsBulk));
    }

    [Test]
    public async Task IngestManyAsync_StoreWritesBatches_OneCallPerBatchAndBuffersMayBeReused()
    {
        var store = new BatchWritingStore();
        await using var node = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), store);
        await node.StartAsync();
        byte[][] data = Enumerable.Range(0, 300).Select(i => EngineTestKit.Data(i)).ToArray();
        byte[][] copies = data.Select(d => d.ToArray()).ToArray();

        var results = await node.IngestManyAsync(data.Select(d => (ReadOnlyMemory<byte>)d).ToArray());
        foreach (byte[] buffer in data)
        {
            Array.Fill(buffer, (byte)0xEE); // the caller reuses its buffers
        }

        Assert.That(store.Calls, Is.EqualTo(1));
        Assert.That(results.Select(r => r.Added), Has.All.True);
        Assert.That(node.Count, Is.EqualTo(300));
        Assert.That(await store.CountAsync(), Is.EqualTo(300));
        for (int i = 0; i < copies.Length; i++)
        {
            AssertionRecord? stored = await store.GetAsync(results[i].Hash);
            Assert.That(stored?.Data.ToArray(), Is.EqualTo(copies[i]));
        }
    }

    [Test]
    public async Task IngestManyAsync_PutManyFailsPartWay_ThrowsAndIndexesExactlyWhatTheStoreHolds()
    {
        var store = new BatchWritingStore { FailAfter = 120 };
        await using var node = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), store);
        await node.StartAsync();
        ReadOnlyMemory<byte>[] data = Enumerable.Range(0, 300).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray();

        Assert.ThrowsAsync<IOException>(async () => await node.IngestManyAsync(data));

        Assert.That(await store.CountAsync(), Is.EqualTo(120));
        Assert.That(node.Count, Is.EqualTo(120), "the index holds what the store holds, no more and no less");
        var again = await node.IngestManyAsync(data);
        Assert.That(again.Count(r => r.Added), Is.EqualTo(180));
        Assert.That(node.Count, Is.EqualTo(300));
    }

    [Test]
    public async Task Import_StoreWritesBatches_OneCallForASmallStream()
    {
        var sourceStore = new InMemoryAssertionStore();
        await using var source = new SyncNode(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false), sourceStore);
        await source.StartAsync();
        await source.IngestManyAsync(Enumerable.Range(0, 2_000).Select(i => (ReadOnlyMemory<byte>)EngineTestKit.Data(i)).ToArray());
        using var stream = new MemoryStream();
        await AssertionStream.ExportAsync(sourceStore, stream);
        stream.Position = 0;
        var store = new BatchWritingStore();
        await using var target = new SyncNode(EngineTestKit.Options(2, o => o.RunBackgroundLoops = false), store);
        await target.StartAsync();

        AssertionImportResult result = await AssertionStream.ImportAsync(stream, target);

        Assert.That(result.Added, Is.EqualTo(2_000));
        Assert.That(store.Calls, Is.EqualTo(1), "2,000 records fit one bulk batch (it holds 16,384, or 4 MiB)");
        Assert.That(target.Root, Is.EqualTo(source.Root));
    }
}
