using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Streams;

/// <summary><see cref="AssertionStream"/>: export from a store, import into a node, with every record verified.</summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class AssertionStreamImportTests : NodeTestBase
{
    [Test]
    public async Task ExportThenImport_ThreeBatches_SameSetRootAndTimestamps()
    {
        var source = new InMemoryAssertionStore();
        List<AssertionRecord> records = StreamTestKit.Records(2500);
        foreach (AssertionRecord record in records)
        {
            await source.PutAsync(record);
        }

        var file = new MemoryStream();
        long exported = await AssertionStream.ExportAsync(source, file);
        file.Position = 0;
        var target = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), target);
        var reports = new List<AssertionStreamProgress>();
        AssertionImportResult result = await AssertionStream.ImportAsync(file, node, new SynchronousProgress(reports.Add));

        Assert.That(exported, Is.EqualTo(2500));
        Assert.That(result, Is.EqualTo(new AssertionImportResult(2500, 2500, 0, file.Length)));
        Assert.That(node.Count, Is.EqualTo(2500));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(records.Select(r => r.Hash))));
        foreach (AssertionRecord record in records)
        {
            Assert.That((await target.GetAsync(record.Hash))!.Timestamp, Is.EqualTo(record.Timestamp));
        }

        Assert.That(reports.Select(r => r.Records), Is.EqualTo(new long[] { 1024, 2048, 2500 }), "one report per batch of 1,024");
    }

    [Test]
    public async Task Import_RecordsFromEmptyToLargerThanABufferChunk_StoredByteForByteAcrossBatches()
    {
        // Records of 0 bytes to 300 KB among 2,100 small ones: batches reuse their buffer, and a record larger than one of
        // its chunks gets a chunk of its own. Read from memory and in 7-byte segments.
        List<AssertionRecord> records = StreamTestKit.Records(2100);
        foreach ((int at, int size) in new[] { (5, 0), (1000, 300_000), (1030, 70_000), (2050, 1) })
        {
            byte[] data = new byte[size];
            new Random(at).NextBytes(data);
            records[at] = new AssertionRecord(AssertionHash.Compute(data), data, records[at].Timestamp);
        }

        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);
        foreach (PipeReader source in new[] { PipeReader.Create(new MemoryStream(bytes)), StreamTestKit.SmallSegments(bytes) })
        {
            var store = new InMemoryAssertionStore();
            SyncNode node = await StartNodeAsync(Manual(1), store);

            AssertionImportResult result = await AssertionStream.ImportAsync(source, node);

            Assert.That(result.Added, Is.EqualTo(2100));
            foreach (AssertionRecord record in records)
            {
                AssertionRecord? stored = await store.GetAsync(record.Hash);
                Assert.That(stored!.Data.ToArray(), Is.EqualTo(record.Data.ToArray()));
                Assert.That(stored.Timestamp, Is.EqualTo(record.Timestamp));
            }
        }
    }

    [Test]
    public async Task Import_IntoAStoreThatKeepsRecords_GivesEachRecordAnArrayOfItsOwn()
    {
        List<AssertionRecord> records = StreamTestKit.Records(2500);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);
        var store = new RecordKeepingStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);

        AssertionImportResult result = await AssertionStream.ImportAsync(new MemoryStream(bytes), node);

        Assert.That(result.Added, Is.EqualTo(2500));
        var arrays = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        foreach (AssertionRecord record in records)
        {
            ReadOnlyMemory<byte> kept = store.Records[record.Hash].Data;
            Assert.That(MemoryMarshal.TryGetArray(kept, out ArraySegment<byte> segment), Is.True);
            Assert.That((segment.Offset, segment.Count), Is.EqualTo((0, segment.Array!.Length)), "a whole array, not a slice of a shared buffer");
            Assert.That(arrays.Add(segment.Array), Is.True, "no array shared by two records");
            Assert.That(kept.ToArray(), Is.EqualTo(record.Data.ToArray()));
        }
    }

    [Test]
    public async Task Import_DataByteFlippedWithAnAsynchronousStore_StopsAtThatRecordWithTheRecordsBeforeItStored()
    {
        List<AssertionRecord> records = StreamTestKit.Records(1500);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        bytes[offsets[1200] + AssertionStreamFormat.RecordFixedLength + 2] ^= 0x01;
        SyncNode node = await StartNodeAsync(Manual(1), new AsyncStore());

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node));

        Assert.That((error!.Offset, error.Record, error.Committed), Is.EqualTo((offsets[1200], 1200L, 1200L)));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(records.Take(1200).Select(r => r.Hash))));
    }

    [Test]
    public async Task Import_SameStreamTwice_SecondAddsNothing()
    {
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(StreamTestKit.Records(10));
        SyncNode node = await StartNodeAsync(Manual(1));

        await AssertionStream.ImportAsync(new MemoryStream(bytes), node);
        AssertionImportResult again = await AssertionStream.ImportAsync(new MemoryStream(bytes), node);

        Assert.That(again.Records, Is.EqualTo(10));
        Assert.That(again.Added, Is.EqualTo(0));
        Assert.That(node.Count, Is.EqualTo(10));
    }

    [Test]
    public async Task Import_OneByteAtATimeAndSmallSegments_StoresEveryRecord()
    {
        List<AssertionRecord> records = StreamTestKit.Records(30);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);
        SyncNode slow = await StartNodeAsync(Manual(1));
        SyncNode segmented = await StartNodeAsync(Manual(2));

        AssertionImportResult one = await AssertionStream.ImportAsync(StreamTestKit.OneByteAtATime(bytes), slow);
        AssertionImportResult seven = await AssertionStream.ImportAsync(StreamTestKit.SmallSegments(bytes), segmented);

        AssertionHash root = EngineTestKit.RootOf(records.Select(r => r.Hash));
        Assert.That((one.Added, slow.Root), Is.EqualTo((30L, root)));
        Assert.That((seven.Added, segmented.Root), Is.EqualTo((30L, root)));
    }

    [Test]
    public async Task Import_TruncatedAtEveryOffset_FailsAtTheCutRecordKeepingTheWholeOnesBeforeIt()
    {
        List<AssertionRecord> records = StreamTestKit.Records(3);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        long endOffset = bytes.Length - AssertionStreamFormat.EndLength;

        for (int length = 0; length < bytes.Length; length++)
        {
            await DisposeNodesAsync();
            SyncNode node = await StartNodeAsync(Manual(1));
            int whole = offsets.Count(start => start + AssertionStreamFormat.RecordFixedLength + records[Array.IndexOf(offsets, start)].Data.Length <= length);
            long expectedOffset = length < AssertionStreamFormat.HeaderLength ? 0 : whole < records.Count ? offsets[whole] : endOffset;

            AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(
                async () => await AssertionStream.ImportAsync(new MemoryStream(bytes[..length]), node), $"cut at {length}");

            Assert.That(error!.Offset, Is.EqualTo(expectedOffset), $"cut at {length}: {error.Message}");
            Assert.That(error.Record, Is.EqualTo(whole), $"cut at {length}");
            Assert.That(error.Committed, Is.EqualTo(whole), $"cut at {length}");
            Assert.That(node.Count, Is.EqualTo(whole), $"cut at {length}");
            Assert.That(error.Message, Does.Contain($"byte offset {expectedOffset}"));
        }
    }

    [Test]
    public async Task Import_DataByteFlipped_StopsAtThatRecordWithTheRecordsBeforeItStored()
    {
        List<AssertionRecord> records = StreamTestKit.Records(5);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        bytes[offsets[3] + AssertionStreamFormat.RecordFixedLength + 2] ^= 0x01;
        SyncNode node = await StartNodeAsync(Manual(1));

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node));

        Assert.That(error!.Offset, Is.EqualTo(offsets[3]));
        Assert.That(error.Record, Is.EqualTo(3));
        Assert.That(error.Committed, Is.EqualTo(3));
        Assert.That(error.Message, Does.Contain("does not match the BLAKE3 hash"));
        Assert.That(node.Root, Is.EqualTo(EngineTestKit.RootOf(records.Take(3).Select(r => r.Hash))));
    }

    [Test]
    public async Task Import_HashFieldOfAnotherRecord_IsRejectedAsAHashMismatch()
    {
        List<AssertionRecord> records = StreamTestKit.Records(2);
        records[1] = new AssertionRecord(records[0].Hash, records[1].Data, records[1].Timestamp);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        SyncNode node = await StartNodeAsync(Manual(1));

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node));

        Assert.That((error!.Offset, error.Committed), Is.EqualTo((offsets[1], 1L)));
        Assert.That(node.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Import_TimestampBeyondTheDriftBound_IsRejectedAndLeavesTheClockUnchanged()
    {
        List<AssertionRecord> records = StreamTestKit.Records(2);
        records[1] = new AssertionRecord(records[1].Hash, records[1].Data, new HlcTimestamp((ulong)EngineTestKit.Start.AddHours(1).ToUnixTimeMilliseconds(), 0, EngineTestKit.NodeIdFor(50)));
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        SyncNode node = await StartNodeAsync(Manual(1));

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node));

        Assert.That((error!.Offset, error.Committed), Is.EqualTo((offsets[1], 1L)));
        Assert.That(error.Message, Does.Contain("ahead of local wall time"));
        Assert.That(node.Clock.Current.Time, Is.LessThanOrEqualTo((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds()));
    }

    [Test]
    public async Task Import_ContentValidatorRefusesARecord_StopsThere()
    {
        byte[] refused = EngineTestKit.Data(7);
        refused[0] = 0xFF;
        List<AssertionRecord> records = StreamTestKit.Records(2);
        records.Insert(1, new AssertionRecord(AssertionHash.Compute(refused), refused, records[0].Timestamp));
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        SyncNode node = await StartNodeAsync(EngineTestKit.Options(1, o => o.RunBackgroundLoops = false, new RejectFfValidator()));

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node));

        Assert.That((error!.Offset, error.Committed), Is.EqualTo((offsets[1], 1L)));
        Assert.That(error.Message, Does.Contain("first byte 0xFF"));
        Assert.That(node.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Import_RecordLargerThanTheNodeAccepts_FailsOnItsLengthField()
    {
        List<AssertionRecord> records = StreamTestKit.Records(2);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        SyncNode node = await StartNodeAsync(Manual(1, o => o.MaxAssertionBytes = 8));

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node));

        Assert.That((error!.Offset, error.Committed), Is.EqualTo((offsets[0], 0L)));
        Assert.That(error.Message, Does.Contain("at most 8 are accepted"));
        Assert.That(node.Count, Is.EqualTo(0));
    }

    [Test]
    public async Task Import_UnstampedRecord_IsStampedByTheNodeLikeAV1Answer()
    {
        byte[] data = EngineTestKit.Data(3);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync([new AssertionRecord(AssertionHash.Compute(data), data, HlcTimestamp.None)]);
        var store = new InMemoryAssertionStore();
        SyncNode node = await StartNodeAsync(Manual(1), store);

        await AssertionStream.ImportAsync(new MemoryStream(bytes), node);

        Assert.That((await store.GetAsync(AssertionHash.Compute(data)))!.Timestamp.NodeId, Is.EqualTo(EngineTestKit.NodeIdFor(1)));
    }

    [Test]
    public async Task Import_Cancelled_ThrowsAndKeepsTheBatchesStoredBeforeIt()
    {
        List<AssertionRecord> records = StreamTestKit.Records(1100);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0)); // the whole part is written before the import starts
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, (int)offsets[1050])); // a first batch of 1,024, then a part of the next
        SyncNode node = await StartNodeAsync(Manual(1));
        using var cancel = new CancellationTokenSource();
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Task<AssertionImportResult> import = AssertionStream.ImportAsync(pipe.Reader, node, new SynchronousProgress(_ => stored.TrySetResult()), cancel.Token).AsTask();
        await stored.Task;
        await cancel.CancelAsync();

        Assert.That(async () => await import, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(node.Count, Is.EqualTo(1024));
    }

    [Test]
    public async Task Import_NodeNotStarted_ThrowsInvalidOperation()
    {
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(StreamTestKit.Records(1));
        SyncNode node = Nodes.Add(new SyncNode(Manual(1), new InMemoryAssertionStore()));

        Assert.That(async () => await AssertionStream.ImportAsync(new MemoryStream(bytes), node), Throws.InvalidOperationException);
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (unlike <see cref="Progress{T}"/>).</summary>
    private sealed class SynchronousProgress(Action<AssertionStreamProgress> report) : IProgress<AssertionStreamProgress>
    {
        public void Report(AssertionStreamProgress value) => report(value);
    }
}
