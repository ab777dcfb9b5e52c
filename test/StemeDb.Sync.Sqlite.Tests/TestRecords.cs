using System;

namespace StemeDb.Sync.Sqlite.Tests;

internal static class TestRecords
{
    private static readonly NodeId Node = NodeId.Parse("0123456789abcdef0123456789abcdef");

    public static AssertionRecord Create(int seed, int size = 64)
    {
        byte[] data = new byte[size];
        new Random(seed).NextBytes(data);
        BitConverter.TryWriteBytes(data, seed);
        return new AssertionRecord(AssertionHash.Compute(data), data, new HlcTimestamp(1_700_000_000_000UL + (ulong)seed, (uint)seed, Node));
    }
}
