using System;

namespace StemeDb.Sync.Consumer.Tests;

/// <summary>Builds valid assertions (rkyv bytes named by their BLAKE3 hash) the way a host would.</summary>
internal static class TestAssertions
{
    /// <summary>A wall-clock time a minute in the past, well inside any clock-drift bound.</summary>
    public static ulong RecentTime => (ulong)DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();

    public static byte[] Encode(string subject, NodeId author, ulong time) =>
        AssertionCodec.Encode(new Assertion(
            subject,
            "consumer-check",
            AssertionValue.FromText("ok"),
            new HlcTimestamp(time, 0, author),
            author));

    public static AssertionRecord Record(string subject, NodeId author, ulong time)
    {
        byte[] bytes = Encode(subject, author, time);
        return new AssertionRecord(AssertionHash.Compute(bytes), bytes, new HlcTimestamp(time, 0, author));
    }
}
