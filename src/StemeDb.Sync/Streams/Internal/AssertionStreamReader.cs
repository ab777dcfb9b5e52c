using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// Reads an assertion stream from a <see cref="PipeReader"/>, one batch of records at a time: checks the header, then every
/// record's declared length against the limit before waiting for its bytes (nothing is allocated for a length over the
/// limit, and a record's bytes are taken only once all of them have arrived), then the end marker's count and that
/// nothing follows it. Any failure is an <see cref="AssertionStreamException"/> naming the byte offset where the failing
/// part starts. Records are parsed, not verified: the caller verifies them (hash, content, clock).
/// </summary>
/// <remarks>
/// A record's bytes are copied out of the pipe either into an array of their own (a store may keep them) or into the
/// batch's reusable buffer (<see cref="RecordBatch.Copy(ReadOnlySpan{byte})"/>: no allocation per record, valid until the
/// batch is cleared). Either way the pipe is advanced past every record taken, so the reader never holds the pipe's
/// buffer while the records are stored.
/// </remarks>
internal sealed class AssertionStreamReader
{
    private readonly PipeReader _reader;
    private readonly int _maxRecordBytes;
    private bool _headerRead;
    private bool _endCountRead;
    private bool _ended;
    private RecordBatch? _single;

    /// <param name="reader">The source; the caller completes it.</param>
    /// <param name="maxRecordBytes">The largest data length accepted.</param>
    public AssertionStreamReader(PipeReader reader, int maxRecordBytes)
    {
        _reader = reader;
        _maxRecordBytes = maxRecordBytes;
    }

    /// <summary>The offset of the next unread byte: where the next record (or the end marker) starts.</summary>
    public long Offset { get; private set; }

    /// <summary>The offset where the record last read starts.</summary>
    public long RecordOffset { get; private set; }

    /// <summary>The records read so far.</summary>
    public long Count { get; private set; }

    /// <summary>
    /// The next record, with bytes of its own, or <see langword="null"/> once the end marker has been read, its count
    /// matched and the stream ended right after it.
    /// </summary>
    public async ValueTask<AssertionRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        _single ??= new RecordBatch(1);
        _single.Clear();
        await ReadBatchAsync(_single, 1, long.MaxValue, intoBatchBuffer: false, cancellationToken).ConfigureAwait(false);
        if (_single.Count == 0)
        {
            return null;
        }

        UnverifiedRecord record = _single.Records.Span[0];
        _single.Clear();
        return new AssertionRecord(record.Hash, record.Data, record.Timestamp);
    }

    /// <summary>
    /// Appends records to <paramref name="records"/> until <paramref name="maxRecords"/> were added or their data reached
    /// <paramref name="maxDataBytes"/>, parsing every record already buffered before waiting for more. Each record's
    /// bytes are copied into the batch's reusable buffer (<paramref name="intoBatchBuffer"/>) or into an array of their
    /// own. Returns <see langword="false"/> once the stream has ended (the end marker read, its count matched, nothing
    /// after it); the records of that call are appended too. On a failure, the records parsed before it stay appended.
    /// </summary>
    public async ValueTask<bool> ReadBatchAsync(RecordBatch records, int maxRecords, long maxDataBytes, bool intoBatchBuffer, CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return false;
        }

        int added = 0;
        long dataBytes = 0;
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The read of the assertion stream was cancelled.");
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            long consumed = 0;
            bool needMore = false;
            try
            {
                while (added < maxRecords && dataBytes < maxDataBytes)
                {
                    if (_headerRead && !_endCountRead)
                    {
                        // The common case: whole records inside the current segment, parsed from its span.
                        consumed += ParseContiguous(buffer.Slice(consumed).FirstSpan, records, intoBatchBuffer, maxRecords, maxDataBytes, ref added, ref dataBytes);
                        if (added == maxRecords || dataBytes >= maxDataBytes)
                        {
                            break;
                        }
                    }

                    // Anything else: the header, a record across segments or not yet whole, the end marker, a failure.
                    Step step = TryParse(buffer.Slice(consumed), result.IsCompleted, intoBatchBuffer ? records : null);
                    if (step.Consumed == 0 && !step.Done)
                    {
                        needMore = true;
                        break;
                    }

                    long start = Offset;
                    consumed += step.Consumed;
                    Offset += step.Consumed;
                    if (step.Record is { } record)
                    {
                        RecordOffset = start;
                        Count++;
                        records.Add(record, start);
                        added++;
                        dataBytes += record.Data.Length;
                    }

                    if (step.Done)
                    {
                        _ended = true;
                        break;
                    }
                }
            }
            catch
            {
                _reader.AdvanceTo(buffer.GetPosition(consumed));
                throw;
            }

            if (needMore)
            {
                _reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End); // wait for more bytes
                continue;
            }

            _reader.AdvanceTo(buffer.GetPosition(consumed));
            return !_ended;
        }
    }

    /// <summary>
    /// Parses the records that lie whole in <paramref name="span"/> (one segment of the buffer), from its start, within
    /// the batch's limits; stops at anything else (which <see cref="TryParse"/> then handles, failures included). Returns
    /// the bytes consumed.
    /// </summary>
    private int ParseContiguous(
        ReadOnlySpan<byte> span, RecordBatch records, bool intoBatchBuffer, int maxRecords, long maxDataBytes, ref int added, ref long dataBytes)
    {
        int at = 0;
        while (added < maxRecords && dataBytes < maxDataBytes)
        {
            ReadOnlySpan<byte> rest = span[at..];
            if (rest.Length < AssertionStreamFormat.RecordFixedLength || rest[0] != AssertionStreamFormat.RecordTag)
            {
                break;
            }

            (AssertionHash hash, HlcTimestamp timestamp, uint length) = AssertionStreamFormat.ReadRecordPrefix(rest);
            if (length > (uint)_maxRecordBytes || (uint)(rest.Length - AssertionStreamFormat.RecordFixedLength) < length)
            {
                break;
            }

            ReadOnlySpan<byte> bytes = rest.Slice(AssertionStreamFormat.RecordFixedLength, (int)length);
            ReadOnlyMemory<byte> data = intoBatchBuffer ? records.Copy(bytes) : bytes.ToArray();
            int total = AssertionStreamFormat.RecordFixedLength + (int)length;
            long start = Offset;
            records.Add(new UnverifiedRecord(hash, timestamp, data, Owned: !intoBatchBuffer), start);
            RecordOffset = start;
            Offset += total;
            Count++;
            added++;
            dataBytes += length;
            at += total;
        }

        return at;
    }

    /// <summary>What one parse of the buffered bytes gave: bytes consumed, and a record or the end.</summary>
    private readonly record struct Step(long Consumed, UnverifiedRecord? Record, bool Done);

    /// <param name="buffer">The bytes from the next unparsed one on.</param>
    /// <param name="completed">Whether the source has ended after them.</param>
    /// <param name="batchBuffer">The batch whose buffer takes a record's bytes, or <see langword="null"/> for an array of their own.</param>
    private Step TryParse(ReadOnlySequence<byte> buffer, bool completed, RecordBatch? batchBuffer)
    {
        if (!_headerRead)
        {
            if (buffer.Length < AssertionStreamFormat.HeaderLength)
            {
                return completed ? throw Fail("the stream ends inside the header") : default;
            }

            Span<byte> header = stackalloc byte[AssertionStreamFormat.HeaderLength];
            buffer.Slice(0, header.Length).CopyTo(header);
            if (AssertionStreamFormat.CheckHeader(header) is { } reason)
            {
                throw Fail(reason);
            }

            _headerRead = true;
            return new Step(AssertionStreamFormat.HeaderLength, null, false);
        }

        if (_endCountRead)
        {
            // After the end marker: the stream must end here.
            return buffer.Length > 0
                ? throw Fail($"{buffer.Length}{(completed ? string.Empty : " or more")} byte(s) follow the end marker")
                : completed ? new Step(0, null, true) : default;
        }

        if (buffer.IsEmpty)
        {
            return completed ? throw Fail("the stream ends before the end marker (truncated)") : default;
        }

        byte tag = buffer.FirstSpan[0];
        if (tag == AssertionStreamFormat.EndTag)
        {
            if (buffer.Length < AssertionStreamFormat.EndLength)
            {
                return completed ? throw Fail("the stream ends inside the end marker") : default;
            }

            Span<byte> end = stackalloc byte[AssertionStreamFormat.EndLength];
            buffer.Slice(0, end.Length).CopyTo(end);
            ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(end[1..]);
            if (declared != (ulong)Count)
            {
                throw Fail($"the end marker counts {declared} records but {Count} were read");
            }

            _endCountRead = true;
            return new Step(AssertionStreamFormat.EndLength, null, false);
        }

        if (tag != AssertionStreamFormat.RecordTag)
        {
            throw Fail($"byte 0x{tag:x2} is neither a record (0x52) nor the end marker (0x45)");
        }

        if (buffer.Length < AssertionStreamFormat.RecordFixedLength)
        {
            return completed ? throw Fail("the stream ends inside a record's header (truncated)") : default;
        }

        Span<byte> prefix = stackalloc byte[AssertionStreamFormat.RecordFixedLength];
        buffer.Slice(0, prefix.Length).CopyTo(prefix);
        (AssertionHash hash, HlcTimestamp timestamp, uint length) = AssertionStreamFormat.ReadRecordPrefix(prefix);
        if (length > (uint)_maxRecordBytes)
        {
            throw Fail($"the record declares {length} data bytes; at most {_maxRecordBytes} are accepted");
        }

        long total = AssertionStreamFormat.RecordFixedLength + (long)length;
        if (buffer.Length < total)
        {
            return completed ? throw Fail($"the stream ends inside a record of {length} data bytes (truncated)") : default;
        }

        ReadOnlySequence<byte> data = buffer.Slice(AssertionStreamFormat.RecordFixedLength, length);
        UnverifiedRecord record = batchBuffer is not null
            ? new UnverifiedRecord(hash, timestamp, batchBuffer.Copy(data), Owned: false)
            : new UnverifiedRecord(hash, timestamp, data.ToArray(), Owned: true);
        return new Step(total, record, false);
    }

    private AssertionStreamException Fail(string reason) => new(Offset, Count, reason, 0);
}
