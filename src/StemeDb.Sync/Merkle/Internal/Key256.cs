using System;
using System.Buffers.Binary;
using System.Numerics;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// A 256-bit value held as four big-endian words (<see cref="W0"/> most significant): a leaf key, a node
/// hash or a sum of leaves modulo 2^256. Bit 0 is the most significant bit of byte 0.
/// </summary>
internal readonly struct Key256 : IEquatable<Key256>
{
    public readonly ulong W0;
    public readonly ulong W1;
    public readonly ulong W2;
    public readonly ulong W3;

    public Key256(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        W0 = w0;
        W1 = w1;
        W2 = w2;
        W3 = w3;
    }

    public static Key256 FromHash(AssertionHash hash) => new(hash.W0, hash.W1, hash.W2, hash.W3);

    /// <summary>Reads 32 bytes as a big-endian 256-bit value.</summary>
    public static Key256 Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64BigEndian(bytes),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));

    /// <summary>Writes the 32 big-endian bytes.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, W0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], W1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], W2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], W3);
    }

    public AssertionHash ToHash()
    {
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        Write(bytes);
        return new AssertionHash(bytes);
    }

    /// <summary>Returns bit <paramref name="index"/> (0..255, 0 = most significant bit of byte 0).</summary>
    public bool Bit(int index)
    {
        ulong word = (index >> 6) switch
        {
            0 => W0,
            1 => W1,
            2 => W2,
            _ => W3,
        };
        return ((word >> (63 - (index & 63))) & 1UL) != 0;
    }

    /// <summary>Returns the index of the first bit where the values differ, or -1 when they are equal.</summary>
    public static int FirstDifferingBit(in Key256 a, in Key256 b)
    {
        ulong x = a.W0 ^ b.W0;
        if (x != 0)
        {
            return BitOperations.LeadingZeroCount(x);
        }

        x = a.W1 ^ b.W1;
        if (x != 0)
        {
            return 64 + BitOperations.LeadingZeroCount(x);
        }

        x = a.W2 ^ b.W2;
        if (x != 0)
        {
            return 128 + BitOperations.LeadingZeroCount(x);
        }

        x = a.W3 ^ b.W3;
        return x != 0 ? 192 + BitOperations.LeadingZeroCount(x) : -1;
    }

    /// <summary>Unsigned comparison (the leaf order): negative, zero or positive.</summary>
    public static int Compare(in Key256 a, in Key256 b)
    {
        if (a.W0 != b.W0)
        {
            return a.W0 < b.W0 ? -1 : 1;
        }

        if (a.W1 != b.W1)
        {
            return a.W1 < b.W1 ? -1 : 1;
        }

        if (a.W2 != b.W2)
        {
            return a.W2 < b.W2 ? -1 : 1;
        }

        return a.W3 == b.W3 ? 0 : a.W3 < b.W3 ? -1 : 1;
    }

    /// <summary>Addition modulo 2^256.</summary>
    public static Key256 operator +(in Key256 a, in Key256 b)
    {
        ulong carry = 0;
        ulong w3 = AddWithCarry(a.W3, b.W3, ref carry);
        ulong w2 = AddWithCarry(a.W2, b.W2, ref carry);
        ulong w1 = AddWithCarry(a.W1, b.W1, ref carry);
        ulong w0 = AddWithCarry(a.W0, b.W0, ref carry);
        return new Key256(w0, w1, w2, w3);
    }

    /// <summary>Subtraction modulo 2^256.</summary>
    public static Key256 operator -(in Key256 a, in Key256 b)
    {
        // a - b = a + ~b + 1 (two's complement), the +1 entering as the initial carry.
        ulong carry = 1;
        ulong w3 = AddWithCarry(a.W3, ~b.W3, ref carry);
        ulong w2 = AddWithCarry(a.W2, ~b.W2, ref carry);
        ulong w1 = AddWithCarry(a.W1, ~b.W1, ref carry);
        ulong w0 = AddWithCarry(a.W0, ~b.W0, ref carry);
        return new Key256(w0, w1, w2, w3);
    }

    public static bool operator ==(in Key256 a, in Key256 b) => a.Equals(b);

    public static bool operator !=(in Key256 a, in Key256 b) => !a.Equals(b);

    public bool Equals(Key256 other) => W0 == other.W0 && W1 == other.W1 && W2 == other.W2 && W3 == other.W3;

    public override bool Equals(object? obj) => obj is Key256 other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(W0, W1, W2, W3);

    private static ulong AddWithCarry(ulong x, ulong y, ref ulong carry)
    {
        ulong sum = x + y;
        ulong carryOut = sum < x ? 1UL : 0UL;
        ulong result = sum + carry;
        carryOut |= result < sum ? 1UL : 0UL;
        carry = carryOut;
        return result;
    }
}
