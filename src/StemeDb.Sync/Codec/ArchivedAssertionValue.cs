using System;
using System.Buffers.Binary;
using System.Text;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync;

/// <summary>A zero-copy view of an archived <c>Value</c> inside a validated <see cref="ArchivedAssertion"/>.</summary>
internal readonly ref struct ArchivedAssertionValue
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _pos;

    internal ArchivedAssertionValue(ReadOnlySpan<byte> buffer, int pos)
    {
        _buffer = buffer;
        _pos = pos;
    }

    /// <summary>Which variant the value is.</summary>
    public AssertionValueKind Kind => (AssertionValueKind)_buffer[_pos];

    /// <summary>Returns the <c>Bool</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Bool</c>.</exception>
    public bool AsBool() => _buffer[Expect(AssertionValueKind.Bool) + 1] != 0;

    /// <summary>Returns the <c>Int</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not an <c>Int</c>.</exception>
    public long AsInt() => BinaryPrimitives.ReadInt64LittleEndian(_buffer[(Expect(AssertionValueKind.Int) + 8)..]);

    /// <summary>Returns the <c>Float</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Float</c>.</exception>
    public double AsFloat() => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(_buffer[(Expect(AssertionValueKind.Float) + 8)..]));

    /// <summary>Returns the <c>Text</c> payload as UTF-8 bytes.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Text</c>.</exception>
    public ReadOnlySpan<byte> AsText() => StringRepr.Read(_buffer, Expect(AssertionValueKind.Text) + 4);

    /// <summary>Returns the <c>Bytes</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Bytes</c>.</exception>
    public ReadOnlySpan<byte> AsBytes()
    {
        int vec = Expect(AssertionValueKind.Bytes) + 4;
        int start = vec + BinaryPrimitives.ReadInt32LittleEndian(_buffer[vec..]);
        return _buffer.Slice(start, (int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(vec + 4)..]));
    }

    /// <summary>Returns the <c>Ref</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Ref</c>.</exception>
    public AssertionHash AsRef() => new(_buffer.Slice(Expect(AssertionValueKind.Ref) + 1, AssertionHash.Length));

    /// <summary>Decodes the value into a new <see cref="AssertionValue"/>.</summary>
    /// <returns>The decoded value.</returns>
    public AssertionValue ToValue() => Kind switch
    {
        AssertionValueKind.Null => AssertionValue.Null,
        AssertionValueKind.Bool => AssertionValue.FromBool(AsBool()),
        AssertionValueKind.Int => AssertionValue.FromInt(AsInt()),
        AssertionValueKind.Float => AssertionValue.FromFloat(AsFloat()),
        AssertionValueKind.Text => AssertionValue.FromText(Encoding.UTF8.GetString(AsText())),
        AssertionValueKind.Bytes => AssertionValue.FromBytes(AsBytes()),
        _ => AssertionValue.FromRef(AsRef()),
    };

    private int Expect(AssertionValueKind kind) =>
        Kind == kind ? _pos : throw new InvalidOperationException($"The value is {Kind}, not {kind}.");
}
