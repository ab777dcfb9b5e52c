using System;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Streams.Internal;

/// <summary>
/// A <see cref="PipeWriter"/> over one growable array: an <see cref="AssertionStreamWriter"/> writes into it, and the
/// caller takes what was written (<see cref="Written"/>) as chunks, then <see cref="Clear"/>s it. Flushing does nothing;
/// the caller decides when a chunk is taken, so memory stays bounded by what it lets gather.
/// </summary>
internal sealed class ChunkBuffer : PipeWriter
{
    private byte[] _buffer;
    private int _written;

    public ChunkBuffer(int initialCapacity)
    {
        _buffer = new byte[initialCapacity];
    }

    /// <summary>The bytes written since the last <see cref="Clear"/>.</summary>
    public int Length => _written;

    /// <summary>The bytes written since the last <see cref="Clear"/>; valid until the next write or clear.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _written);

    /// <summary>Forgets what was written; the array is reused.</summary>
    public void Clear() => _written = 0;

    /// <summary>Forgets the first <paramref name="count"/> bytes written; the rest moves to the front.</summary>
    public void Discard(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _written);
        Buffer.BlockCopy(_buffer, count, _buffer, 0, _written - count);
        _written -= count;
    }

    public override void Advance(int bytes)
    {
        if (bytes < 0 || bytes > _buffer.Length - _written)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Advanced past the memory handed out.");
        }

        _written += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    private void Reserve(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _written + needed));
    }
}
