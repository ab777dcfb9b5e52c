using System;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Builds test assertions: real rkyv <c>Assertion</c> archives, named by their BLAKE3 hash.</summary>
internal static class Records
{
    /// <summary>An assertion whose object is <paramref name="text"/>.</summary>
    public static AssertionRecord Create(string text, NodeId? node = null, ulong? time = null) =>
        Encode(AssertionValue.FromText(text), node, time);

    /// <summary>An assertion whose object is <paramref name="bytes"/> zero bytes (its archive is a little larger).</summary>
    public static AssertionRecord Large(int bytes) => Encode(AssertionValue.FromBytes(new byte[bytes]), null, null);

    /// <summary>A record over arbitrary bytes (not necessarily a valid archive), with the right hash.</summary>
    public static AssertionRecord WithData(byte[] data, NodeId? node = null) =>
        new(AssertionHash.Compute(data), data, new HlcTimestamp(Now(), 0, node ?? NodeId.NewId()));

    private static AssertionRecord Encode(AssertionValue value, NodeId? node, ulong? time)
    {
        NodeId author = node ?? NodeId.NewId();
        var timestamp = new HlcTimestamp(time ?? Now(), 0, author);
        byte[] data = AssertionCodec.Encode(new Assertion("test:subject", "test:says", value, timestamp, author));
        return new AssertionRecord(AssertionHash.Compute(data), data, timestamp);
    }

    private static ulong Now() => (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
