using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// Writes an assertion stream to a <see cref="PipeWriter"/>: the header on the first record, then each record, then
/// the end marker on <see cref="CompleteAsync"/>. Flushes every <see cref="FlushThreshold"/> bytes, so a slow reader
/// holds the writer (the pipe's pause threshold) and memory stays bounded.
/// </summary>
internal sealed class AssertionStreamWriter
{
    /// <summary>Unflushed bytes after which a write flushes.</summary>
    public const int FlushThreshold = 64 * 1024;

    private readonly PipeWriter _writer;
    private bool _headerWritten;
    private bool _completed;
    private long _unflushed;

    public AssertionStreamWriter(PipeWriter writer)
    {
        _writer = writer;
    }

    /// <summary>The records written so far.</summary>
    public long Count { get; private set; }

    /// <summary>The bytes written so far.</summary>
    public long Bytes { get; private set; }

    public ValueTask WriteAsync(AssertionRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_completed)
        {
            throw new InvalidOperationException("The assertion stream was already completed.");
        }

        WriteHeaderOnce();
        Span<byte> prefix = _writer.GetSpan(AssertionStreamFormat.RecordFixedLength);
        AssertionStreamFormat.WriteRecordPrefix(prefix, record);
        _writer.Advance(AssertionStreamFormat.RecordFixedLength);
        _writer.Write(record.Data.Span);
        Count++;
        Added(AssertionStreamFormat.RecordFixedLength + record.Data.Length);
        return _unflushed >= FlushThreshold ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary>Writes the end marker with the record count and flushes. The pipe is left for the caller to complete.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_completed)
        {
            return;
        }

        WriteHeaderOnce();
        AssertionStreamFormat.WriteEnd(_writer.GetSpan(AssertionStreamFormat.EndLength), Count);
        _writer.Advance(AssertionStreamFormat.EndLength);
        Added(AssertionStreamFormat.EndLength);
        _completed = true;
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void WriteHeaderOnce()
    {
        if (_headerWritten)
        {
            return;
        }

        AssertionStreamFormat.WriteHeader(_writer.GetSpan(AssertionStreamFormat.HeaderLength));
        _writer.Advance(AssertionStreamFormat.HeaderLength);
        Added(AssertionStreamFormat.HeaderLength);
        _headerWritten = true;
    }

    private void Added(int bytes)
    {
        Bytes += bytes;
        _unflushed += bytes;
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _unflushed = 0;
        FlushResult flushed = await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flushed.IsCanceled)
        {
            throw new OperationCanceledException("The flush of the assertion stream was cancelled.");
        }

        if (flushed.IsCompleted)
        {
            throw new IOException("The reader of the assertion stream stopped reading before its end.");
        }
    }
}
