using System;
using System.Globalization;
using System.Diagnostics.CodeAnalysis;

namespace StemeDb.Sync;

/// <summary>
/// The object of an assertion: the Rust enum <c>Value { Null, Bool(bool), Int(i64), Float(f64), Text(String),
/// Bytes(Vec&lt;u8&gt;), Ref([u8; 32]) }</c>. Immutable; equality is by kind and content (floats bit for bit).
/// </summary>
public sealed class AssertionValue : IEquatable<AssertionValue>
{
    private readonly long _bits;
    private readonly object? _reference;
    private readonly AssertionHash _hash;

    private AssertionValue(AssertionValueKind kind, long bits = 0, object? reference = null, AssertionHash hash = default)
    {
        Kind = kind;
        _bits = bits;
        _reference = reference;
        _hash = hash;
    }

    /// <summary>The <c>Null</c> value.</summary>
    public static AssertionValue Null { get; } = new(AssertionValueKind.Null);

    /// <summary>Which variant this is.</summary>
    public AssertionValueKind Kind { get; }

    /// <summary>Creates a <c>Bool</c> value.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The object value.</returns>
    public static AssertionValue FromBool(bool value) => new(AssertionValueKind.Bool, value ? 1 : 0);

    /// <summary>Creates an <c>Int</c> value.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The object value.</returns>
    public static AssertionValue FromInt(long value) => new(AssertionValueKind.Int, value);

    /// <summary>Creates a <c>Float</c> value (any bit pattern, including NaN and -0.0, is kept).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The object value.</returns>
    public static AssertionValue FromFloat(double value) => new(AssertionValueKind.Float, BitConverter.DoubleToInt64Bits(value));

    /// <summary>Creates a <c>Text</c> value.</summary>
    /// <param name="value">The text (must not hold lone surrogates, which UTF-8 cannot encode).</param>
    /// <returns>The object value.</returns>
    public static AssertionValue FromText(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(AssertionValueKind.Text, reference: value);
    }

    /// <summary>Creates a <c>Bytes</c> value. The bytes are copied.</summary>
    /// <param name="value">The bytes.</param>
    /// <returns>The object value.</returns>
    public static AssertionValue FromBytes(ReadOnlySpan<byte> value) => new(AssertionValueKind.Bytes, reference: value.ToArray());

    /// <summary>Creates a <c>Ref</c> value: a reference to another assertion.</summary>
    /// <param name="value">The referenced assertion's hash.</param>
    /// <returns>The object value.</returns>
    public static AssertionValue FromRef(AssertionHash value) => new(AssertionValueKind.Ref, hash: value);

    /// <summary>Returns the <c>Bool</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Bool</c>.</exception>
    public bool AsBool() => Expect(AssertionValueKind.Bool)._bits != 0;

    /// <summary>Returns the <c>Int</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not an <c>Int</c>.</exception>
    public long AsInt() => Expect(AssertionValueKind.Int)._bits;

    /// <summary>Returns the <c>Float</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Float</c>.</exception>
    public double AsFloat() => BitConverter.Int64BitsToDouble(Expect(AssertionValueKind.Float)._bits);

    /// <summary>Returns the <c>Text</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Text</c>.</exception>
    public string AsText() => (string)Expect(AssertionValueKind.Text)._reference!;

    /// <summary>Returns the <c>Bytes</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Bytes</c>.</exception>
    public ReadOnlyMemory<byte> AsBytes() => (byte[])Expect(AssertionValueKind.Bytes)._reference!;

    /// <summary>Returns the <c>Ref</c> payload.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The value is not a <c>Ref</c>.</exception>
    public AssertionHash AsRef() => Expect(AssertionValueKind.Ref)._hash;

    internal ReadOnlySpan<byte> BytesSpan => (byte[])_reference!;

    internal long Bits => _bits;

    internal string Text => (string)_reference!;

    internal AssertionHash Hash => _hash;

    /// <inheritdoc />
    public bool Equals([NotNullWhen(true)] AssertionValue? other)
    {
        if (other is null || other.Kind != Kind)
        {
            return false;
        }

        return Kind switch
        {
            AssertionValueKind.Text => string.Equals(Text, other.Text, StringComparison.Ordinal),
            AssertionValueKind.Bytes => BytesSpan.SequenceEqual(other.BytesSpan),
            AssertionValueKind.Ref => _hash == other._hash,
            _ => _bits == other._bits,
        };
    }

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is AssertionValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Kind switch
    {
        AssertionValueKind.Text => HashCode.Combine(Kind, StringComparer.Ordinal.GetHashCode(Text)),
        AssertionValueKind.Bytes => HashCode.Combine(Kind, BytesSpan.Length, BytesSpan.Length > 0 ? BytesSpan[0] : 0),
        AssertionValueKind.Ref => HashCode.Combine(Kind, _hash),
        _ => HashCode.Combine(Kind, _bits),
    };

    /// <summary>Returns the value in the corpus JSON shape's spirit, e.g. <c>Int(5)</c> or <c>Text("x")</c>.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => Kind switch
    {
        AssertionValueKind.Null => "Null",
        AssertionValueKind.Bool => AsBool() ? "Bool(true)" : "Bool(false)",
        AssertionValueKind.Int => "Int(" + AsInt().ToString(CultureInfo.InvariantCulture) + ")",
        AssertionValueKind.Float => "Float(" + AsFloat().ToString("R", CultureInfo.InvariantCulture) + ")",
        AssertionValueKind.Text => "Text(\"" + Text + "\")",
        AssertionValueKind.Bytes => "Bytes(" + Convert.ToHexString(BytesSpan).ToLowerInvariant() + ")",
        _ => "Ref(" + _hash.ToString() + ")",
    };

    private AssertionValue Expect(AssertionValueKind kind) =>
        Kind == kind ? this : throw new InvalidOperationException($"The value is {Kind}, not {kind}.");
}
