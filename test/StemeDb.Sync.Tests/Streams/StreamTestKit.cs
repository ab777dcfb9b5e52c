using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using System.Threading.Tasks;
using StemeDb.Sync.Streams.Internal;
using StemeDb.Sync.Tests.Engine;

namespace StemeDb.Sync.Tests.Streams;

/// <summary>Streams for the assertion stream tests: written by the library, and sources that deliver them in pieces.</summary>
internal static class StreamTestKit
{
    /// <summary>The records with seeds 1..count (16 to 80 bytes each), stamped at the test start time.</summary>
    public static List<AssertionRecord> Records(int count, int first = 1)
    {
        var records = new List<AssertionRecord>(count);
        for (int i = first; i < first + count; i++)
        {
            records.Add(EngineTestKit.Record(i, new HlcTimestamp((ulong)EngineTestKit.Start.ToUnixTimeMilliseconds() - (ulong)i, (uint)i, EngineTestKit.NodeIdFor(50))));
        }

        return records;
    }

    /// <summary>The stream of <paramref name="records"/>, and where each record starts.</summary>
    public static async Task<(byte[] Bytes, long[] Offsets)> WriteAsync(IReadOnlyList<AssertionRecord> records)
    {
        var output = new MemoryStream();
        PipeWriter pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        var writer = new AssertionStreamWriter(pipe);
        var offsets = new long[records.Count];
        for (int i = 0; i < records.Count; i++)
        {
            offsets[i] = i == 0 ? AssertionStreamFormat.HeaderLength : offsets[i - 1] + AssertionStreamFormat.RecordFixedLength + records[i - 1].Data.Length;
            await writer.WriteAsync(records[i], default);
        }

        await writer.CompleteAsync(default);
        await pipe.CompleteAsync();
        return (output.ToArray(), offsets);
    }

    /// <summary>A reader over <paramref name="bytes"/> whose every read returns one byte.</summary>
    public static PipeReader OneByteAtATime(byte[] bytes) =>
        PipeReader.Create(new OneByteAtATimeStream(bytes), new StreamPipeReaderOptions(bufferSize: 1, minimumReadSize: 1));

    /// <summary>A reader over <paramref name="bytes"/> that buffers them in segments of 7 bytes, so every field crosses segments.</summary>
    public static PipeReader SmallSegments(byte[] bytes) =>
        PipeReader.Create(new MemoryStream(bytes), new StreamPipeReaderOptions(bufferSize: 7, minimumReadSize: 7));

    /// <summary>A stream that returns at most one byte per read.</summary>
    private sealed class OneByteAtATimeStream : MemoryStream
    {
        public OneByteAtATimeStream(byte[] bytes)
            : base(bytes, writable: false)
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, System.Threading.CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 1)], cancellationToken);
    }
}
