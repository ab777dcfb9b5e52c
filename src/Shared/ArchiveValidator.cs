using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Unicode;

namespace StemeDb.Sync.Codec.Internal;

/// <summary>
/// The subtree-range bookkeeping of rkyv's <c>ArchiveValidator</c>: one current range <c>[lo, hi)</c>; every out-of-line
/// object is claimed (bounds, then alignment), its contents are checked with <c>hi</c> lowered to its start, and
/// afterwards <c>lo</c> moves to its end. Offsets are relative to the buffer start. Allocates nothing.
/// </summary>
internal ref struct ArchiveValidator
{
    private readonly ReadOnlySpan<byte> _buffer;
    private long _lo;
    private long _hi;
    private RkyvError _error;

    public ArchiveValidator(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _lo = 0;
        _hi = buffer.Length;
        _error = default;
    }

    public readonly ReadOnlySpan<byte> Buffer => _buffer;

    public readonly RkyvError Error => _error;

    /// <summary>Claims the root object: <c>[len - size, len)</c> (or from 0 if the buffer is shorter).</summary>
    public bool PushRoot(int size, int alignment, out int rootPos, out long end, out long savedHi)
    {
        rootPos = Math.Max(0, _buffer.Length - size);
        return Push(rootPos, size, alignment, out end, out savedHi);
    }

    /// <summary>Claims <c>[start, start + size)</c> aligned to <paramref name="alignment"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Push(long start, long size, int alignment, out long end, out long savedHi)
    {
        end = start + size;
        savedHi = _hi;
        if (start < _lo || end > _hi)
        {
            return Fail(RkyvErrorKind.SubtreeRange, start, size);
        }

        if ((start & (alignment - 1)) != 0)
        {
            return Fail(RkyvErrorKind.Unaligned, start, alignment);
        }

        _hi = start;
        return true;
    }

    /// <summary>Ends a claim: later claims must start at or after its end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Pop(long end, long savedHi)
    {
        _lo = end;
        _hi = savedHi;
    }

    public bool Fail(RkyvErrorKind kind, long position, long length = 0)
    {
        _error = new RkyvError(kind, position, length);
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CheckBool(int pos) => _buffer[pos] <= 1 || Fail(RkyvErrorKind.Bool, pos);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CheckChar(int pos)
    {
        uint c = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.Slice(pos, 4));
        return (c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF)) || Fail(RkyvErrorKind.Char, pos);
    }

    /// <summary>Checks an archived string whose 8-byte representation is at <paramref name="pos"/>.</summary>
    public bool CheckString(int pos)
    {
        ReadOnlySpan<byte> repr = _buffer.Slice(pos, 8);
        if (StringRepr.IsInline(repr[0]))
        {
            int len = StringRepr.InlineLength(repr);
            return Utf8.IsValid(repr[..len]) || Fail(RkyvErrorKind.Utf8, pos, len);
        }

        long length = StringRepr.OutOfLineLength(repr);
        if (length <= StringRepr.InlineCapacity)
        {
            return Fail(RkyvErrorKind.StringRepr, pos, length);
        }

        long start = pos + (long)BinaryPrimitives.ReadInt32LittleEndian(repr[4..]);
        if (!Push(start, length, 1, out long end, out long savedHi))
        {
            return false;
        }

        if (!Utf8.IsValid(_buffer.Slice((int)start, (int)length)))
        {
            return Fail(RkyvErrorKind.Utf8, start, length);
        }

        Pop(end, savedHi);
        return true;
    }

    /// <summary>Claims the element block of an archived vec at <paramref name="pos"/>; the caller checks the elements and pops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushVec(int pos, int elementSize, int elementAlignment, out int start, out int count, out long end, out long savedHi)
    {
        long target = pos + (long)BinaryPrimitives.ReadInt32LittleEndian(_buffer.Slice(pos, 4));
        uint len = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.Slice(pos + 4, 4));
        if (!Push(target, (long)len * elementSize, elementAlignment, out end, out savedHi))
        {
            start = 0;
            count = 0;
            return false;
        }

        // The claim is inside the buffer, so both fit in an int (for zero-sized elements the count is not used to index).
        start = (int)target;
        count = elementSize == 0 ? 0 : (int)len;
        return true;
    }
}
