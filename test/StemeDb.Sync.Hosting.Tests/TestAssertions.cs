using System;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>Valid rkyv assertions, so that tests hold whatever content validator the node uses.</summary>
internal static class TestAssertions
{
    private static readonly NodeId Author = NodeId.Parse("42474c51565b60656a6f74797e83888d");

    public static byte[] Encode(string subject) => AssertionCodec.Encode(new Assertion(
        subject,
        "test/value",
        AssertionValue.FromText(subject),
        new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, Author),
        Author));
}
