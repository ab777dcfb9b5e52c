using System;
using System.Buffers.Binary;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The hashes of the Merkle root (root version 2) and of the range fingerprint (docs/PROTOCOL.md, "Merkle index and
/// root"). A leaf is its own value; inner nodes and the empty set are hashed in BLAKE3's derive-key mode under contexts
/// of their own (<see cref="NodeHasher"/>); the range fingerprint keeps its domain byte 0x03.
/// </summary>
internal static class MerkleHashing
{
    public const byte FingerprintTag = 0x03;

    /// <summary>The root of the empty set: BLAKE3 derive-key of the empty input under <see cref="NodeHasher.EmptyContext"/>.</summary>
    public static readonly Key256 EmptyRoot = ComputeEmptyRoot();

    /// <summary>The value of a leaf in the tree: the leaf itself (an assertion hash).</summary>
    public static Key256 Leaf(in Key256 leaf) => leaf;

    /// <summary>BLAKE3 derive-key of <c>left || right</c> (64 bytes, one compression) under <see cref="NodeHasher.InnerContext"/>.</summary>
    public static Key256 Inner(in Key256 left, in Key256 right) => NodeHasher.Inner(left, right);

    /// <summary>BLAKE3(0x03 || count as u64 big-endian || sum as 32 bytes big-endian), 41 input bytes.</summary>
    public static Key256 Fingerprint(int count, in Key256 sum)
    {
        Span<byte> input = stackalloc byte[1 + 8 + 32];
        input[0] = FingerprintTag;
        BinaryPrimitives.WriteUInt64BigEndian(input[1..], (ulong)count);
        sum.Write(input[9..]);
        return HashOf(input);
    }

    private static Key256 ComputeEmptyRoot()
    {
        using Blake3.Hasher hasher = Blake3.Hasher.NewDeriveKey(NodeHasher.EmptyContext);
        Span<byte> output = stackalloc byte[32];
        hasher.Finalize(output);
        return Key256.Read(output);
    }

    private static Key256 HashOf(ReadOnlySpan<byte> input)
    {
        Span<byte> output = stackalloc byte[32];
        Blake3.Hasher.Hash(input, output);
        return Key256.Read(output);
    }
}
