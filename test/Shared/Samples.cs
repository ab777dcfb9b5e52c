using System;
using System.Collections.Generic;
using System.Text;

namespace StemeDb.Sync.Tests.Codec;

/// <summary>Assertions for tests: a typical one and seeded random ones.</summary>
internal static class Samples
{
    private static readonly string[] Alphabet = ["a", "b", "z", "0", ":", " ", "é", "日", "😀", "Ж", "€", "\0", "\t"];

    public static Assertion Typical() => new(
        "user:42",
        "email",
        AssertionValue.FromText("alice@example.com"),
        new HlcTimestamp(1_700_000_000_000, 3, NodeId.Parse("0123456789abcdef0123456789abcdef")),
        NodeId.Parse("fedcba9876543210fedcba9876543210"),
        0.75f,
        AssertionHash.Compute(Encoding.UTF8.GetBytes("previous")),
        ["verified", "imported-from-crm"]);

    public static Assertion Random(Random rng)
    {
        AssertionValue value = rng.Next(7) switch
        {
            0 => AssertionValue.Null,
            1 => AssertionValue.FromBool(rng.Next(2) == 1),
            2 => AssertionValue.FromInt(rng.NextInt64(long.MinValue, long.MaxValue)),
            3 => AssertionValue.FromFloat(BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue))),
            4 => AssertionValue.FromText(Text(rng)),
            5 => AssertionValue.FromBytes(Bytes(rng, rng.Next(3) == 0 ? 0 : rng.Next(100))),
            _ => AssertionValue.FromRef(new AssertionHash(Bytes(rng, 32))),
        };
        var tags = new List<string>();
        int tagCount = rng.Next(3) == 0 ? 0 : rng.Next(8);
        for (int i = 0; i < tagCount; i++)
        {
            tags.Add(Text(rng));
        }

        return new Assertion(
            Text(rng),
            Text(rng),
            value,
            new HlcTimestamp((ulong)rng.NextInt64(long.MinValue, long.MaxValue), (uint)rng.Next(), new NodeId(Bytes(rng, 16))),
            new NodeId(Bytes(rng, 16)),
            rng.Next(2) == 0 ? null : BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue)),
            rng.Next(2) == 0 ? null : new AssertionHash(Bytes(rng, 32)),
            tags);
    }

    public static string Text(Random rng)
    {
        int length = rng.Next(4) switch
        {
            0 => rng.Next(0, 9),
            1 => rng.Next(6, 12),
            2 => rng.Next(12, 80),
            _ => rng.Next(0, 4),
        };
        var sb = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            sb.Append(Alphabet[rng.Next(Alphabet.Length)]);
        }

        return sb.ToString();
    }

    public static byte[] Bytes(Random rng, int count)
    {
        byte[] bytes = new byte[count];
        rng.NextBytes(bytes);
        return bytes;
    }
}
