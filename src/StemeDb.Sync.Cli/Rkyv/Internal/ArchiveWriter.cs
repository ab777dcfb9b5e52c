using System;
using System.Buffers;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv.Internal;

/// <summary>
/// Appends to an <see cref="IBufferWriter{T}"/> while tracking the position relative to the start of the archive,
/// which is what relative pointers and alignment padding are computed from.
/// </summary>
internal struct ArchiveWriter
{
    private readonly IBufferWriter<byte> _output;

    public ArchiveWriter(IBufferWriter<byte> output)
    {
        _output = output;
        Position = 0;
    }

    public int Position { get; private set; }

    /// <summary>Writes zero bytes up to the next multiple of <paramref name="alignment"/>.</summary>
    public void Align(int alignment)
    {
        int pad = Layout.AlignUp(Position, alignment) - Position;
        if (pad > 0)
        {
            Span<byte> span = _output.GetSpan(pad);
            span[..pad].Clear();
            Advance(pad);
        }
    }

    /// <summary>Returns a zeroed span of exactly <paramref name="size"/> bytes; call <see cref="Advance"/> after filling it.</summary>
    public readonly Span<byte> GetZeroedSpan(int size)
    {
        Span<byte> span = _output.GetSpan(size)[..size];
        span.Clear();
        return span;
    }

    public void Advance(int count)
    {
        if (Position > int.MaxValue - count)
        {
            throw new InvalidOperationException("The archive would exceed 2 GiB, which 32-bit relative pointers cannot address.");
        }

        _output.Advance(count);
        Position += count;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            Span<byte> span = _output.GetSpan(1);
            int n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            Advance(n);
            bytes = bytes[n..];
        }
    }

    /// <summary>Writes the UTF-8 form of <paramref name="text"/> whose byte count is known.</summary>
    public void WriteUtf8(string text, int byteCount)
    {
        Span<byte> span = _output.GetSpan(byteCount);
        int written = Utf8Strict.Encoding.GetBytes(text, span);
        Advance(written);
    }
}
