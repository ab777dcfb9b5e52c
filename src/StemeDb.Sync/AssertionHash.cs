using System;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using StemeDb.Sync.Internal;

namespace StemeDb.Sync;

/// <summary>
/// The 32-byte BLAKE3 hash that names an assertion: the hash of exactly its serialized (rkyv) bytes.
/// </summary>
/// <remarks>
/// Equality is bytewise; ordering is unsigned lexicographic over the 32 bytes, which is the order of
/// Merkle leaves and of <c>GetLeaves</c> answers. The default value is the all-zero hash.
/// </remarks>
public readonly struct AssertionHash : IEquatable<AssertionHash>, IComparable<AssertionHash>
{
    /// <summary>The length of a hash in bytes (32).</summary>
    public const int Length = 32;

    // Four big-endian words: comparing them in order is the unsigned lexicographic byte order.
    private readonly ulong _w0;
    private readonly ulong _w1;
    private readonly ulong _w2;
    private readonly ulong _w3;

    /// <summary>Creates a hash from exactly 32 bytes.</summary>
    /// <param name="bytes">The hash bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
    public AssertionHash(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            ThrowHelper.ThrowWrongLength(nameof(bytes), Length, bytes.Length);
        }

        _w0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    private AssertionHash(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
    }

    /// <summary>The first 8 bytes, big-endian.</summary>
    internal ulong W0 => _w0;

    /// <summary>The hash whose four big-endian words are these.</summary>
    internal static AssertionHash FromWords(ulong w0, ulong w1, ulong w2, ulong w3) => new(w0, w1, w2, w3);

    /// <summary>Bytes 8 to 15, big-endian.</summary>
    internal ulong W1 => _w1;

    /// <summary>Bytes 16 to 23, big-endian.</summary>
    internal ulong W2 => _w2;

    /// <summary>The last 8 bytes, big-endian.</summary>
    internal ulong W3 => _w3;

    /// <summary>The all-zero hash (the default value).</summary>
    public static AssertionHash Zero => default;

    /// <summary>The all-ones hash, the greatest value in the order.</summary>
    internal static AssertionHash MaxValue => new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

    /// <summary>Computes the BLAKE3 hash (32-byte output) of <paramref name="data"/>.</summary>
    /// <param name="data">The serialized assertion bytes.</param>
    /// <returns>The hash that names those bytes.</returns>
    public static AssertionHash Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> buffer = stackalloc byte[Length];
        Blake3.Hasher.Hash(data, buffer);
        return new AssertionHash(buffer);
    }

    /// <summary>Returns whether <paramref name="data"/> hashes to this value.</summary>
    /// <param name="data">Bytes claimed to be named by this hash.</param>
    /// <returns><see langword="true"/> if BLAKE3(<paramref name="data"/>) equals this hash.</returns>
    public bool Matches(ReadOnlySpan<byte> data) => Compute(data) == this;

    /// <summary>Creates a hash from a span, reporting a wrong length instead of throwing.</summary>
    /// <param name="bytes">Candidate hash bytes.</param>
    /// <param name="hash">The hash when the length was right.</param>
    /// <returns><see langword="true"/> if <paramref name="bytes"/> was exactly 32 bytes.</returns>
    public static bool TryCreate(ReadOnlySpan<byte> bytes, out AssertionHash hash)
    {
        if (bytes.Length != Length)
        {
            hash = default;
            return false;
        }

        hash = new AssertionHash(bytes);
        return true;
    }

    /// <summary>Parses 64 hex digits (either case).</summary>
    /// <param name="hex">The hex text.</param>
    /// <returns>The hash.</returns>
    /// <exception cref="FormatException"><paramref name="hex"/> is not 64 hex digits.</exception>
    public static AssertionHash Parse(ReadOnlySpan<char> hex)
    {
        if (!TryParse(hex, out AssertionHash hash))
        {
            ThrowHelper.ThrowFormat($"An assertion hash is {Length * 2} hex digits; got '{hex.ToString()}'.");
        }

        return hash;
    }

    /// <summary>Parses 64 hex digits (either case), reporting failure instead of throwing.</summary>
    /// <param name="hex">The hex text.</param>
    /// <param name="hash">The parsed hash.</param>
    /// <returns><see langword="true"/> on success.</returns>
    public static bool TryParse(ReadOnlySpan<char> hex, out AssertionHash hash)
    {
        Span<byte> buffer = stackalloc byte[Length];
        if (!Hex.TryDecode(hex, buffer))
        {
            hash = default;
            return false;
        }

        hash = new AssertionHash(buffer);
        return true;
    }

    /// <summary>Writes the 32 bytes into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least 32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 32 bytes.</exception>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"The destination must hold at least {Length} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    /// <summary>Returns the 32 bytes as a new array.</summary>
    /// <returns>A new 32-byte array.</returns>
    public byte[] ToArray()
    {
        byte[] bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Returns the hash as 64 lowercase hex digits.</summary>
    /// <returns>The hex text.</returns>
    public override string ToString()
    {
        Span<byte> buffer = stackalloc byte[Length];
        CopyTo(buffer);
        return Hex.Encode(buffer);
    }

    /// <inheritdoc />
    public bool Equals(AssertionHash other) =>
        _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is AssertionHash other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    /// <inheritdoc />
    public int CompareTo(AssertionHash other)
    {
        int c = _w0.CompareTo(other._w0);
        if (c != 0)
        {
            return c;
        }

        c = _w1.CompareTo(other._w1);
        if (c != 0)
        {
            return c;
        }

        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    /// <summary>Bytewise equality.</summary>
    public static bool operator ==(AssertionHash left, AssertionHash right) => left.Equals(right);

    /// <summary>Bytewise inequality.</summary>
    public static bool operator !=(AssertionHash left, AssertionHash right) => !left.Equals(right);

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator <(AssertionHash left, AssertionHash right) => left.CompareTo(right) < 0;

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator >(AssertionHash left, AssertionHash right) => left.CompareTo(right) > 0;

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator <=(AssertionHash left, AssertionHash right) => left.CompareTo(right) <= 0;

    /// <summary>Unsigned lexicographic order.</summary>
    public static bool operator >=(AssertionHash left, AssertionHash right) => left.CompareTo(right) >= 0;
}
