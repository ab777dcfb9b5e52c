using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Threading.Tasks;
using StemeDb.Sync.Engine.Internal;
using StemeDb.Sync.Streams.Internal;

namespace StemeDb.Sync.Tests.Streams;

/// <summary>The stream format against its specification (docs/STREAM-FORMAT.md), byte for byte.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class AssertionStreamFormatTests
{
    /// <summary>The test vector of docs/STREAM-FORMAT.md: one record holding the 5 bytes "hello".</summary>
    private const string VectorHex =
        "89 53 54 4d 0d 0a 1a 0a 01 00 00 00" // header: magic, version 1, flags 0
        + " 52" // record tag
        + " ea 8f 16 3d b3 86 82 92 5e 44 91 c5 e5 8d 4b b3 50 6e f8 c1 4e b7 8a 86 e9 08 c5 62 4a 67 20 0f" // BLAKE3("hello")
        + " 00 68 e5 cf 8b 01 00 00" // HLC time 1700000000000
        + " 01 00 00 00" // HLC counter 1
        + " 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10" // HLC node id
        + " 05 00 00 00" // data length 5
        + " 68 65 6c 6c 6f" // "hello"
        + " 45 01 00 00 00 00 00 00 00"; // end marker, 1 record

    private static readonly byte[] Hello = "hello"u8.ToArray();

    private static readonly NodeId VectorNode = new(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray());

    private static AssertionRecord VectorRecord => new(AssertionHash.Compute(Hello), Hello, new HlcTimestamp(1_700_000_000_000, 1, VectorNode));

    [Test]
    public void Vector_BuiltFieldByFieldFromTheSpecification_EqualsTheDocumentedHex()
    {
        var expected = new List<byte>();
        expected.AddRange([0x89, (byte)'S', (byte)'T', (byte)'M', 0x0D, 0x0A, 0x1A, 0x0A]); // magic
        expected.AddRange(BitConverter.GetBytes((ushort)1)); // version, little-endian
        expected.AddRange([0, 0]); // flags
        expected.Add((byte)'R');
        expected.AddRange(AssertionHash.Compute(Hello).ToArray());
        expected.AddRange(BitConverter.GetBytes(1_700_000_000_000UL));
        expected.AddRange(BitConverter.GetBytes(1U));
        expected.AddRange(VectorNode.ToArray());
        expected.AddRange(BitConverter.GetBytes((uint)Hello.Length));
        expected.AddRange(Hello);
        expected.Add((byte)'E');
        expected.AddRange(BitConverter.GetBytes(1UL));

        Assert.That(BitConverter.IsLittleEndian, Is.True, "the hand-built vector assumes a little-endian machine");
        Assert.That(Convert.ToHexString(expected.ToArray()), Is.EqualTo(VectorHex.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant()));
    }

    [Test]
    public async Task Writer_VectorRecord_ProducesTheVectorByteForByte()
    {
        (byte[] bytes, _) = await StreamTestKit.WriteAsync([VectorRecord]);

        Assert.That(bytes, Is.EqualTo(Vector()));
    }

    [Test]
    public async Task Reader_Vector_ParsesTheRecordThenTheEnd()
    {
        var reader = new AssertionStreamReader(PipeReader.Create(new MemoryStream(Vector())), 1024);

        AssertionRecord? record = await reader.ReadAsync(default);
        AssertionRecord? end = await reader.ReadAsync(default);

        Assert.That(record, Is.Not.Null);
        Assert.That(record!.Hash, Is.EqualTo(VectorRecord.Hash));
        Assert.That(record.Timestamp, Is.EqualTo(VectorRecord.Timestamp));
        Assert.That(record.Data.ToArray(), Is.EqualTo(Hello));
        Assert.That(reader.RecordOffset, Is.EqualTo(12));
        Assert.That(end, Is.Null);
        Assert.That(reader.Offset, Is.EqualTo(Vector().Length));
        Assert.That(reader.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Writer_NoRecords_WritesHeaderAndEndMarkerOnly()
    {
        (byte[] bytes, _) = await StreamTestKit.WriteAsync([]);

        Assert.That(Convert.ToHexString(bytes), Is.EqualTo("8953544D0D0A1A0A0100000045" + "0000000000000000"));
    }

    [Test]
    public async Task Reader_OneByteAtATimeAndSmallSegments_ReadsTheSameRecords()
    {
        List<AssertionRecord> records = StreamTestKit.Records(20);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);

        foreach (PipeReader source in new[] { StreamTestKit.OneByteAtATime(bytes), StreamTestKit.SmallSegments(bytes) })
        {
            var reader = new AssertionStreamReader(source, 1024);
            var read = new List<AssertionRecord>();
            while (await reader.ReadAsync(default) is { } record)
            {
                read.Add(record);
            }

            Assert.That(read.Select(r => (r.Hash, r.Timestamp)), Is.EqualTo(records.Select(r => (r.Hash, r.Timestamp))));
            Assert.That(read.Select(r => r.Data.ToArray()), Is.EqualTo(records.Select(r => r.Data.ToArray())));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Reader_BatchesFromOneBufferSmallSegmentsAndSingleBytes_SameRecordsAndOffsets(bool intoBatchBuffer)
    {
        // Batches of at most 8 records: whole records parsed from one segment, records split across segments, and a
        // batch's buffer reused after each clear.
        List<AssertionRecord> records = StreamTestKit.Records(50);
        (byte[] bytes, long[] offsets) = await StreamTestKit.WriteAsync(records);

        foreach (PipeReader source in new[] { PipeReader.Create(new MemoryStream(bytes)), StreamTestKit.OneByteAtATime(bytes), StreamTestKit.SmallSegments(bytes) })
        {
            var reader = new AssertionStreamReader(source, 1024);
            var batch = new RecordBatch(4);
            var read = new List<(AssertionHash Hash, HlcTimestamp Timestamp, byte[] Data, bool Owned, long Offset)>();
            bool more = true;
            while (more)
            {
                more = await reader.ReadBatchAsync(batch, 8, long.MaxValue, intoBatchBuffer, default);
                Assert.That(batch.Count, Is.LessThanOrEqualTo(8));
                for (int i = 0; i < batch.Count; i++)
                {
                    UnverifiedRecord record = batch.Records.Span[i];
                    read.Add((record.Hash, record.Timestamp, record.Data.ToArray(), record.Owned, batch.OffsetOf(i)));
                }

                batch.Clear();
            }

            Assert.That(read.Select(r => (r.Hash, r.Timestamp)), Is.EqualTo(records.Select(r => (r.Hash, r.Timestamp))));
            Assert.That(read.Select(r => r.Data), Is.EqualTo(records.Select(r => r.Data.ToArray())));
            Assert.That(read.Select(r => r.Offset), Is.EqualTo(offsets));
            Assert.That(read.All(r => r.Owned == !intoBatchBuffer), Is.True);
            Assert.That(reader.Offset, Is.EqualTo(bytes.Length));
        }
    }

    [Test]
    public async Task Reader_BatchDataLimit_EndsTheBatchOnceReached()
    {
        List<AssertionRecord> records = StreamTestKit.Records(10);
        (byte[] bytes, _) = await StreamTestKit.WriteAsync(records);
        var reader = new AssertionStreamReader(PipeReader.Create(new MemoryStream(bytes)), 1024);
        var batch = new RecordBatch(16);

        await reader.ReadBatchAsync(batch, 16, records[0].Data.Length + 1, intoBatchBuffer: true, default);

        Assert.That(batch.Count, Is.EqualTo(2), "the first record stays under the limit, the second reaches it");
    }

    [Test]
    public async Task Reader_LengthAboveTheLimit_FailsAtOnceWithoutWaitingForTheBytes()
    {
        // Header and a record prefix declaring 4 GiB - 1 bytes, on a pipe that is never completed: a reader that waited
        // for (or allocated) the declared bytes would hang here.
        byte[] prefix = Vector()[..(12 + 65)];
        prefix.AsSpan(12 + 61, 4).Fill(0xFF);
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(prefix);
        var reader = new AssertionStreamReader(pipe.Reader, 1024 * 1024);

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await reader.ReadAsync(default));

        Assert.That(error!.Offset, Is.EqualTo(12));
        Assert.That(error.Record, Is.EqualTo(0));
        Assert.That(error.Message, Does.Contain("declares 4294967295 data bytes; at most 1048576"));
    }

    [TestCase(0, (byte)0x88, "magic")]
    [TestCase(8, (byte)0x02, "version 2")]
    [TestCase(10, (byte)0x01, "flags")]
    [TestCase(12, (byte)0x51, "neither a record")]
    public async Task Reader_DamagedHeaderOrTag_FailsNamingTheOffset(int at, byte value, string reason)
    {
        byte[] bytes = Vector();
        bytes[at] = value;
        var reader = new AssertionStreamReader(PipeReader.Create(new MemoryStream(bytes)), 1024);

        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await reader.ReadAsync(default));

        Assert.That(error!.Offset, Is.EqualTo(at < 12 ? 0 : 12));
        Assert.That(error.Message, Does.Contain(reason));
    }

    [Test]
    public async Task Reader_EndMarkerCountWrong_FailsAtTheEndMarker()
    {
        byte[] bytes = Vector();
        bytes[^8] = 2;
        var reader = new AssertionStreamReader(PipeReader.Create(new MemoryStream(bytes)), 1024);

        await reader.ReadAsync(default);
        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await reader.ReadAsync(default));

        Assert.That(error!.Offset, Is.EqualTo(bytes.Length - 9));
        Assert.That(error.Message, Does.Contain("counts 2 records but 1 were read"));
    }

    [Test]
    public async Task Reader_BytesAfterTheEndMarker_Fail()
    {
        byte[] bytes = [.. Vector(), 0x00];
        var reader = new AssertionStreamReader(PipeReader.Create(new MemoryStream(bytes)), 1024);

        await reader.ReadAsync(default);
        AssertionStreamException? error = Assert.ThrowsAsync<AssertionStreamException>(async () => await reader.ReadAsync(default));

        Assert.That(error!.Offset, Is.EqualTo(bytes.Length - 1));
        Assert.That(error.Message, Does.Contain("follow the end marker"));
    }

    private static byte[] Vector() => Convert.FromHexString(VectorHex.Replace(" ", string.Empty, StringComparison.Ordinal));
}
