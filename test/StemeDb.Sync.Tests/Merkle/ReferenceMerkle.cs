using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;

namespace StemeDb.Sync.Tests.Merkle;

/// <summary>
/// A deliberately naive, independent implementation of the Merkle root and range fingerprint as written in
/// docs/PROTOCOL.md: sorted byte arrays, recursion, BigInteger. It shares no code with the index.
/// </summary>
internal static class ReferenceMerkle
{
    public static byte[] Root(IEnumerable<byte[]> leaves)
    {
        List<byte[]> sorted = leaves.Distinct(ByteArrayComparer.Instance).OrderBy(l => l, ByteArrayComparer.Instance).ToList();
        return sorted.Count == 0 ? Blake3Of(new byte[] { 0x02 }) : Node(sorted);
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
            return Blake3Of(new byte[] { 0x00 }.Concat(sorted[0]).ToArray());
        }

        // The first bit (most significant first) where the smallest and largest leaf differ splits the set.
        int bit = 0;
        while (GetBit(sorted[0], bit) == GetBit(sorted[^1], bit))
        {
            bit++;
        }

        List<byte[]> left = sorted.Where(l => !GetBit(l, bit)).ToList();
        List<byte[]> right = sorted.Where(l => GetBit(l, bit)).ToList();
        return Blake3Of(new byte[] { 0x01 }.Concat(Node(left)).Concat(Node(right)).ToArray());
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
