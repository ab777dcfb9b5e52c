using System;

namespace StemeDb.Sync.Tests.Codec;

/// <summary>Random mutations of valid archives: bit flips, byte writes, nudged pointers and lengths, truncation, prefixes, suffixes, runs of marker bytes.</summary>
internal static class Mutations
{
    public static byte[] Mutate(byte[] original, Random rng)
    {
        byte[] b = (byte[])original.Clone();
        switch (rng.Next(8))
        {
            case 0 when b.Length > 0:
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1 when b.Length > 0:
                b[rng.Next(b.Length)] = (byte)rng.Next(256);
                return b;
            case 2 when b.Length >= 4:
            {
                // Nudge a 4-byte word (often a relative pointer or a length) by a small amount.
                int at = rng.Next(b.Length / 4) * 4;
                int word = BitConverter.ToInt32(b, at) + rng.Next(-40, 41);
                BitConverter.GetBytes(word).CopyTo(b, at);
                return b;
            }

            case 3:
                return b[..rng.Next(b.Length + 1)];
            case 4:
                return [.. new byte[rng.Next(1, 17)], .. b];
            case 5:
                return [.. b, .. Samples.Bytes(rng, rng.Next(1, 17))];
            case 6 when b.Length > 0:
            {
                int start = rng.Next(b.Length);
                int count = rng.Next(1, Math.Min(8, b.Length - start) + 1);
                b.AsSpan(start, count).Fill(rng.Next(2) == 0 ? (byte)0xFF : (byte)0x80);
                return b;
            }

            default:
                return rng.Next(2) == 0 ? b : b[(b.Length > 0 ? rng.Next(b.Length) : 0)..];
        }
    }
}
