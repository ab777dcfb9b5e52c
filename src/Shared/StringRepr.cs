using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace StemeDb.Sync.Codec.Internal;

/// <summary>rkyv's 8-byte <c>ArchivedString</c> representation (inline up to 8 bytes, else length word + offset).</summary>
internal static class StringRepr
{
    public const int InlineCapacity = 8;

    public const int MaxOutOfLineLength = (1 << 30) - 1;

    /// <summary>Inline iff the first byte is not a UTF-8 continuation pattern <c>10xxxxxx</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsInline(byte first) => (first & 0xC0) != 0x80;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int InlineLength(ReadOnlySpan<byte> repr)
    {
        int len = repr[..InlineCapacity].IndexOf((byte)0xFF);
        return len < 0 ? InlineCapacity : len;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long OutOfLineLength(ReadOnlySpan<byte> repr)
    {
        uint w = BinaryPrimitives.ReadUInt32LittleEndian(repr);
        return (w & 0x3F) | ((w & ~0xFFu) >> 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint EncodeLengthWord(int length) => ((uint)length & 0x3F) | 0x80 | (((uint)length & ~0x3Fu) << 2);

    /// <summary>Returns the UTF-8 bytes of an already validated string whose representation is at <paramref name="pos"/>.</summary>
    public static ReadOnlySpan<byte> Read(ReadOnlySpan<byte> buffer, int pos)
    {
        ReadOnlySpan<byte> repr = buffer.Slice(pos, InlineCapacity);
        if (IsInline(repr[0]))
        {
            return repr[..InlineLength(repr)];
        }

        int length = (int)OutOfLineLength(repr);
        int start = pos + BinaryPrimitives.ReadInt32LittleEndian(repr[4..]);
        return buffer.Slice(start, length);
    }

    /// <summary>
    /// Writes the representation of a string of <paramref name="utf8"/> bytes at <paramref name="reprPos"/>. For an
    /// out-of-line string <paramref name="bytesPos"/> is where its bytes were written.
    /// </summary>
    public static void Write(Span<byte> dest, ReadOnlySpan<byte> utf8, int reprPos, int bytesPos)
    {
        if (utf8.Length <= InlineCapacity)
        {
            dest[..InlineCapacity].Fill(0xFF);
            utf8.CopyTo(dest);
        }
        else
        {
            WriteOutOfLine(dest, utf8.Length, reprPos, bytesPos);
        }
    }

    public static void WriteOutOfLine(Span<byte> dest, int length, int reprPos, int bytesPos)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dest, EncodeLengthWord(length));
        BinaryPrimitives.WriteInt32LittleEndian(dest[4..], bytesPos - reprPos);
    }
}
