using System;
using System.Buffers.Binary;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The domain-separated BLAKE3 hashes of the Merkle root and range fingerprint specification
/// (docs/PROTOCOL.md, "Merkle index and root"). The first input byte is the domain tag.
/// </summary>
internal static class MerkleHashing
{
    public const byte LeafTag = 0x00;
    public const byte InnerTag = 0x01;
    public const byte EmptyTag = 0x02;
    public const byte FingerprintTag = 0x03;

    /// <summary>The root of the empty set: BLAKE3(0x02).</summary>
    public static readonly Key256 EmptyRoot = HashOf(stackalloc byte[] { EmptyTag });

    /// <summary>BLAKE3(0x00 || leaf), 33 input bytes.</summary>
    public static Key256 Leaf(in Key256 leaf)
    {
        Span<byte> input = stackalloc byte[1 + 32];
        input[0] = LeafTag;
        leaf.Write(input[1..]);
        return HashOf(input);
    }

    /// <summary>BLAKE3(0x01 || left || right), 65 input bytes.</summary>
    public static Key256 Inner(in Key256 left, in Key256 right)
    {
        Span<byte> input = stackalloc byte[1 + 32 + 32];
        input[0] = InnerTag;
        left.Write(input[1..]);
        right.Write(input[33..]);
        return HashOf(input);
    }

    /// <summary>BLAKE3(0x03 || count as u64 big-endian || sum as 32 bytes big-endian), 41 input bytes.</summary>
    public static Key256 Fingerprint(int count, in Key256 sum)
    {
        Span<byte> input = stackalloc byte[1 + 8 + 32];
        input[0] = FingerprintTag;
        BinaryPrimitives.WriteUInt64BigEndian(input[1..], (ulong)count);
        sum.Write(input[9..]);
        return HashOf(input);
    }

    private static Key256 HashOf(ReadOnlySpan<byte> input)
    {
        Span<byte> output = stackalloc byte[32];
        Blake3.Hasher.Hash(input, output);
        return Key256.Read(output);
    }
}
