using System;
using System.Buffers.Binary;

namespace StemeDb.Sync.Reconciliation.Internal;

/// <summary>
/// The fixed slicing of the hash space used by Reconcile v1: 4 levels of 128 equal slices; level l covers
/// [0, 2^256 / 8^l) and its slice i is [i * 2^(249 - 3l), (i + 1) * 2^(249 - 3l)). Every bound lies in the
/// first 64-bit word of a hash, so bounds are computed on that word alone.
/// </summary>
internal static class SliceLayout
{
    public const int Levels = 4;
    public const int SlicesPerLevel = 128;
    public const int FingerprintBytes = 6;
    public const int BitmapBytes = SlicesPerLevel / 8;
    public const int FingerprintBlobBytes = Levels * SlicesPerLevel * FingerprintBytes;

    /// <summary>The width of one slice of <paramref name="level"/>, as a fraction of the hash space.</summary>
    public static double Width(int level) => 1.0 / (SlicesPerLevel * Math.Pow(8, level));

    /// <summary>The top-level slice a hash falls in (its 7 most significant bits).</summary>
    public static int TopSlice(AssertionHash hash) => (int)(FirstWord(hash) >> 57);

    public static ulong FirstWord(AssertionHash hash)
    {
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        hash.CopyTo(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    /// <summary>The inclusive lower bound and exclusive upper bound (null: end of order) of a slice.</summary>
    public static (AssertionHash Lower, AssertionHash? Upper) Bounds(int level, int slice)
    {
        int shift = 57 - (3 * level);
        ulong lower = (ulong)slice << shift;
        AssertionHash? upper = level == 0 && slice == SlicesPerLevel - 1
            ? null
            : FromFirstWord((ulong)(slice + 1) << shift, 0);
        return (FromFirstWord(lower, 0), upper);
    }

    /// <summary>The largest hash below the lower bound of top-level slice <paramref name="slice"/>, or null for slice 0.</summary>
    public static AssertionHash? BeforeTopSlice(int slice) =>
        slice == 0 ? null : FromFirstWord(((ulong)slice << 57) - 1, ulong.MaxValue);

    /// <summary>Computes the fingerprint blob of an index: for each level and slice, the first 6 bytes of the range fingerprint.</summary>
    public static byte[] Fingerprints(MerkleIndex index)
    {
        var blob = new byte[FingerprintBlobBytes];
        Span<byte> full = stackalloc byte[AssertionHash.Length];
        int offset = 0;
        for (int level = 0; level < Levels; level++)
        {
            for (int slice = 0; slice < SlicesPerLevel; slice++)
            {
                (AssertionHash lower, AssertionHash? upper) = Bounds(level, slice);
                index.GetRangeFingerprint(lower, upper).Fingerprint.CopyTo(full);
                full[..FingerprintBytes].CopyTo(blob.AsSpan(offset));
                offset += FingerprintBytes;
            }
        }

        return blob;
    }

    public static bool IsSet(ReadOnlySpan<byte> bitmap, int slice) => (bitmap[slice >> 3] & (1 << (slice & 7))) != 0;

    public static void Set(Span<byte> bitmap, int slice) => bitmap[slice >> 3] |= (byte)(1 << (slice & 7));

    private static AssertionHash FromFirstWord(ulong first, ulong rest)
    {
        Span<byte> bytes = stackalloc byte[AssertionHash.Length];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, first);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], rest);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], rest);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], rest);
        return new AssertionHash(bytes);
    }
}
