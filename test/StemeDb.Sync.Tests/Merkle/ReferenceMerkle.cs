using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;

namespace StemeDb.Sync.Tests.Merkle;

/// <summary>
/// A deliberately naive, independent implementation of the Merkle root (version 2) and range fingerprint as written in
/// docs/PROTOCOL.md: sorted byte arrays, recursion, BigInteger, the Blake3 package's derive-key hasher. It shares no
/// code with the index, not even the context strings.
/// </summary>
internal static class ReferenceMerkle
{
    public const string InnerContext = "StemeDb.Sync 2026-12-02 Merkle inner node v2";
    public const string EmptyContext = "StemeDb.Sync 2026-12-02 Merkle empty set v2";

    public static byte[] Root(IEnumerable<byte[]> leaves)
    {
        List<byte[]> sorted = leaves.Distinct(ByteArrayComparer.Instance).OrderBy(l => l, ByteArrayComparer.Instance).ToList();
        return sorted.Count == 0 ? DeriveKey(EmptyContext, Array.Empty<byte>()) : Node(sorted);
    }

    /// <summary>BLAKE3 in derive-key mode: <paramref name="material"/> under <paramref name="context"/>, 32 bytes.</summary>
    public static byte[] DeriveKey(string context, byte[] material)
    {
        using var hasher = Blake3.Hasher.NewDeriveKey(context);
        hasher.Update(material);
        byte[] output = new byte[32];
        hasher.Finalize(output);
        return output;
    }

    public static (int Count, byte[] Fingerprint) Fingerprint(IEnumerable<byte[]> leaves)
    {
        List<byte[]> distinct = leaves.Distinct(ByteArrayComparer.Instance).ToList();
        BigInteger modulus = BigInteger.One << 256;
        BigInteger sum = BigInteger.Zero;
        foreach (byte[] leaf in distinct)
        {
            sum = (sum + new BigInteger(leaf, isUnsigned: true, isBigEndian: true)) % modulus;
        }

        byte[] sumBytes = new byte[32];
        byte[] raw = sum.ToByteArray(isUnsigned: true, isBigEndian: true);
        raw.CopyTo(sumBytes, 32 - raw.Length);
        byte[] countBytes = BitConverter.GetBytes((ulong)distinct.Count);
        Array.Reverse(countBytes); // big-endian
        byte[] input = new byte[] { 0x03 }.Concat(countBytes).Concat(sumBytes).ToArray();
        return (distinct.Count, Blake3Of(input));
    }

    public static byte[] Blake3Of(byte[] input)
    {
        byte[] output = new byte[32];
        Blake3.Hasher.Hash(input, output);
        return output;
    }

    private static byte[] Node(List<byte[]> sorted)
    {
        if (sorted.Count == 1)
        {
            return sorted[0]; // a leaf is its own value
        }

        // The first bit (most significant first) where the smallest and largest leaf differ splits the set.
        int bit = 0;
        while (GetBit(sorted[0], bit) == GetBit(sorted[^1], bit))
        {
            bit++;
        }

        List<byte[]> left = sorted.Where(l => !GetBit(l, bit)).ToList();
        List<byte[]> right = sorted.Where(l => GetBit(l, bit)).ToList();
        return DeriveKey(InnerContext, Node(left).Concat(Node(right)).ToArray());
    }

    private static bool GetBit(byte[] bytes, int bit) => (bytes[bit / 8] & (0x80 >> (bit % 8))) != 0;

    internal sealed class ByteArrayComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => BitConverter.ToInt32(obj, 0);
    }
}
