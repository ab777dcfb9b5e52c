using System;
using System.Globalization;

namespace StemeDb.Sync.Cli.Tests;

/// <summary>Valid assertions stamped with the current time (nodes refuse timestamps far in the future).</summary>
internal static class TestAssertions
{
    public static readonly NodeId Author = NodeId.Parse("42474c51565b60656a6f74797e83888d");

    public static string Json(string subject, long? timeMs = null) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"subject":"{{subject}}","predicate":"email","object":{"Text":"{{subject}}@example.com"},"hlc":{"time":{{timeMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"counter":0,"node_id":"42474c51565b60656a6f74797e83888d"},"author":"42474c51565b60656a6f74797e83888d","confidence":null,"supersedes":null,"tags":["test"]}""");

    public static AssertionRecord Record(string subject)
    {
        var assertion = new Assertion(
            subject,
            "test/value",
            AssertionValue.FromText(subject),
            new HlcTimestamp((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, Author),
            Author,
            tags: ["test"]);
        byte[] data = AssertionCodec.Encode(assertion);
        return new AssertionRecord(AssertionHash.Compute(data), data, assertion.Hlc);
    }
}
