using System;
using System.Buffers.Binary;
using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Reconciliation.Internal;

/// <summary>
/// The wire form of a run of coded symbols (docs/PROTOCOL.md, "ReconcileSymbols"): per symbol, the 32-byte sum, the
/// checksum as 4 big-endian bytes, and the count as an unsigned LEB128 varint of at most 5 bytes (0 to 2^31 - 1), in its
/// shortest form (so that every symbol run has one encoding).
/// </summary>
internal static class CodedSymbolCodec
{
    /// <summary>The fixed part of a symbol: sum and checksum.</summary>
    public const int FixedBytes = 36;

    /// <summary>The longest encoding of one symbol.</summary>
    public const int MaxBytes = FixedBytes + 5;

    /// <summary>Encodes <paramref name="symbols"/> (counts must be non-negative: a set's own symbols).</summary>
    /// <exception cref="ArgumentException">A count is negative.</exception>
    public static byte[] Encode(ReadOnlySpan<CodedSymbol> symbols)
    {
        int length = 0;
        foreach (CodedSymbol symbol in symbols)
        {
            if (symbol.Count < 0)
            {
                throw new ArgumentException($"A set's symbol has a negative count ({symbol.Count}).", nameof(symbols));
            }

            length += FixedBytes + VarintLength((uint)symbol.Count);
        }

        byte[] bytes = new byte[length];
        Span<byte> at = bytes;
        foreach (CodedSymbol symbol in symbols)
        {
            BinaryPrimitives.WriteUInt64BigEndian(at, symbol.S0);
            BinaryPrimitives.WriteUInt64BigEndian(at[8..], symbol.S1);
            BinaryPrimitives.WriteUInt64BigEndian(at[16..], symbol.S2);
            BinaryPrimitives.WriteUInt64BigEndian(at[24..], symbol.S3);
            BinaryPrimitives.WriteUInt32BigEndian(at[32..], symbol.Check);
            at = at[FixedBytes..];
            uint count = (uint)symbol.Count;
            while (count >= 0x80)
            {
                at[0] = (byte)(count | 0x80);
                at = at[1..];
                count >>= 7;
            }

            at[0] = (byte)count;
            at = at[1..];
        }

        return bytes;
    }

    /// <summary>
    /// Decodes exactly <paramref name="destination"/>.Length symbols that fill <paramref name="bytes"/>; nothing is
    /// allocated, and every length is checked before it is read.
    /// </summary>
    /// <param name="bytes">The encoded symbols.</param>
    /// <param name="destination">Where the symbols go.</param>
    /// <param name="error">Why the bytes are not that many symbols, or <see langword="null"/>.</param>
    /// <returns>Whether the bytes were exactly that many well-formed symbols.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, Span<CodedSymbol> destination, out string? error)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            if (bytes.Length < FixedBytes + 1)
            {
                error = $"symbol {i} of {destination.Length} is cut short";
                return false;
            }

            ref CodedSymbol symbol = ref destination[i];
            symbol.S0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
            symbol.S1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
            symbol.S2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
            symbol.S3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
            symbol.Check = BinaryPrimitives.ReadUInt32BigEndian(bytes[32..]);
            bytes = bytes[FixedBytes..];
            uint count = 0;
            int shift = 0;
            while (true)
            {
                if (bytes.IsEmpty || shift > 28)
                {
                    error = $"the count of symbol {i} is cut short or longer than 5 bytes";
                    return false;
                }

                byte b = bytes[0];
                bytes = bytes[1..];
                if (shift == 28 && b > 0x07)
                {
                    error = $"the count of symbol {i} exceeds 2^31 - 1";
                    return false;
                }

                count |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    if (b == 0 && shift > 0)
                    {
                        error = $"the count of symbol {i} is overlong (a varint ends with a zero byte)";
                        return false;
                    }

                    break;
                }

                shift += 7;
            }

            symbol.Count = (int)count;
        }

        if (!bytes.IsEmpty)
        {
            error = $"{bytes.Length} bytes follow the {destination.Length} symbols";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>The length of <paramref name="value"/> as an unsigned LEB128 (protobuf) varint.</summary>
    internal static int VarintLength(ulong value)
    {
        int length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }
}
